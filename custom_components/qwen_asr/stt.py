"""Speech-to-text entity that streams the Assist pipeline's audio to Qwen."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterable
from typing import Any

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .const import (
    CONF_CONTEXT,
    CONF_ENDPOINTING,
    CONF_HOME_CONTEXT,
    CONF_MODEL,
    CONF_VAD_MODE,
    DEFAULT_OPTIONS,
    DOMAIN,
    ENDPOINTING_QWEN,
    HA_LANGUAGE_TAGS,
    MAX_UTTERANCE_S,
    VAD_SERVER,
)
from .context import build_context
from .helpers import make_client, session_config
from .models import QwenConfigEntry
from .realtime import (
    AuthenticationError,
    Partial,
    QwenError,
    QwenRealtimeClient,
    join_transcripts,
)

_LOGGER = logging.getLogger(__name__)

# Recognitions are independent sessions: run any number at once.
PARALLEL_UPDATES = 0

# HA 2026.5+: the entity may tell the pipeline it detects the end of speech itself.
_DEFAULT_AUDIO_PROCESSING: Any = getattr(stt, "DEFAULT_AUDIO_PROCESSING", None)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QwenConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add the entry's speech-to-text entity."""
    async_add_entities([QwenSpeechToTextEntity(entry)])


class QwenSpeechToTextEntity(stt.SpeechToTextEntity):
    """Qwen3-ASR-Flash-Realtime as an Assist speech-to-text engine."""

    _attr_has_entity_name = True
    _attr_name = None  # the entity is named after its device, i.e. the service

    def __init__(self, entry: QwenConfigEntry) -> None:
        self._entry = entry
        self._attr_unique_id = entry.entry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Alibaba Cloud",
            model=entry.data[CONF_MODEL],
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    def supported_languages(self) -> list[str]:
        """Qwen's languages in the forms Assist pipelines use."""
        return list(HA_LANGUAGE_TAGS)

    @property
    def supported_formats(self) -> list[stt.AudioFormats]:
        """Raw PCM in a WAV stream."""
        return [stt.AudioFormats.WAV]

    @property
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """Qwen takes PCM (Opus is not offered by Assist for streaming)."""
        return [stt.AudioCodecs.PCM]

    @property
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """16-bit samples."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """Qwen accepts 16 kHz and 8 kHz."""
        return [stt.AudioSampleRates.SAMPLERATE_16000, stt.AudioSampleRates.SAMPLERATE_8000]

    @property
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Mono."""
        return [stt.AudioChannels.CHANNEL_MONO]

    @property
    def _options(self) -> dict[str, Any]:
        return {**DEFAULT_OPTIONS, **self._entry.options}

    @property
    def _qwen_endpointing(self) -> bool:
        options = self._options
        return bool(
            options[CONF_ENDPOINTING] == ENDPOINTING_QWEN and options[CONF_VAD_MODE] == VAD_SERVER
        )

    if _DEFAULT_AUDIO_PROCESSING is not None:

        @property
        def audio_processing(self) -> Any:
            """HA 2026.5+: no external VAD when Qwen decides where speech ends."""
            return dataclasses.replace(
                _DEFAULT_AUDIO_PROCESSING, requires_external_vad=not self._qwen_endpointing
            )

    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Stream every chunk to Qwen as it arrives and return the transcript."""
        options = self._options
        runtime = self._entry.runtime_data
        home = runtime.home_context.text if options[CONF_HOME_CONTEXT] else ""
        started = time.monotonic()
        summary: dict[str, Any] = {"sample_rate": int(metadata.sample_rate)}
        client: QwenRealtimeClient | None = None
        try:
            config = session_config(
                self._entry.data,
                options,
                pipeline_language=metadata.language,
                sample_rate=int(metadata.sample_rate),
                context=build_context(str(options[CONF_CONTEXT] or ""), home),
            )
            summary |= {"language": config.language, "context_chars": len(config.context)}
            client = make_client(self._entry.data, config)
            text = await self._recognize(client, stream)
        except AuthenticationError as err:
            summary["error"] = type(err).__name__
            _LOGGER.error("Qwen rejected the API key (%s); reauthentication is needed", err)
            self._entry.async_start_reauth(self.hass)
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        except QwenError as err:
            summary["error"] = type(err).__name__
            _LOGGER.error("Speech-to-text with Qwen failed: %s", err)
            return stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        finally:
            if client is not None:
                summary |= {"session_id": client.session_id, "audio_bytes": client.audio_bytes_sent}
                # Closing waits for the WebSocket closing handshake, a full round trip to
                # the region: the pipeline gets its result without waiting for that.
                self.hass.async_create_background_task(
                    client.close(), f"{DOMAIN} close session", eager_start=True
                )
            summary["duration_s"] = round(time.monotonic() - started, 3)
            runtime.last_session = summary
        return stt.SpeechResult(text, stt.SpeechResultState.SUCCESS)

    async def _recognize(self, client: QwenRealtimeClient, stream: AsyncIterable[bytes]) -> str:
        """Feed audio while connecting; end on Qwen's first final or the stream's end."""
        client.start()  # the WebSocket opens now; audio is held until the session is ready
        tasks: list[asyncio.Task[Any]] = []
        feeder = asyncio.create_task(_feed(client, stream), name="qwen_asr feed")
        tasks.append(feeder)
        if (report := self._progress_reporter()) is not None:
            tasks.append(asyncio.create_task(_report_partials(client, report)))
        try:
            if self._qwen_endpointing:
                first = asyncio.create_task(client.first_final(MAX_UTTERANCE_S))
                tasks.append(first)
                await asyncio.wait((feeder, first), return_when=asyncio.FIRST_COMPLETED)
                if first.done() and (final := first.result()) is not None:
                    return final.transcript.strip()
            await feeder
            finals = await client.finish()
            return join_transcripts(final.transcript for final in finals)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, QwenError):
                    await task

    def _progress_reporter(self) -> Any:
        """HA 2026.11+ partial results, if this HA has them; None otherwise.

        Guarded by name because older HA versions have no progress API at all.
        """
        return getattr(self, "async_report_partial_result", None)


async def _feed(client: QwenRealtimeClient, stream: AsyncIterable[bytes]) -> None:
    async for chunk in stream:
        await client.send_audio(chunk)


async def _report_partials(client: QwenRealtimeClient, report: Any) -> None:
    async for event in client.events():
        if isinstance(event, Partial) and event.preview:
            report(event.preview)
