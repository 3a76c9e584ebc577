"""Speech-to-text entity that streams the Assist pipeline's audio to Qwen."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, override

from homeassistant.components import stt
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import compat
from .const import (
    CONF_CONTEXT,
    CONF_ENDPOINTING,
    CONF_FALLBACK_STT,
    CONF_HOME_CONTEXT,
    CONF_MODEL,
    CONF_VAD_MODE,
    DEFAULT_OPTIONS,
    DOMAIN,
    HA_LANGUAGE_TAGS,
)
from .context import build_context, home_names_sent
from .failures import async_recognition_failed
from .fallback import qwen_failed, qwen_skipped, transcribe_elsewhere
from .held_audio import HeldAudio
from .helpers import make_client, session_config, stt_subentries
from .models import QwenConfigEntry, SessionSummary, SpeechToTextState
from .realtime import (
    ENDPOINTING_QWEN,
    MAX_REQUEST_SECONDS,
    VAD_SERVER,
    AuthenticationError,
    QwenError,
    QwenRealtimeClient,
)
from .recognition import Recognition

_LOGGER = logging.getLogger(__name__)

# Recognitions are independent sessions: run any number at once.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QwenConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add one speech-to-text entity per subentry, each on its subentry's device."""
    for subentry in stt_subentries(entry):
        async_add_entities(
            [QwenSpeechToTextEntity(entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class QwenSpeechToTextEntity(stt.SpeechToTextEntity):
    """Qwen3-ASR-Flash-Realtime as an Assist speech-to-text engine."""

    _attr_has_entity_name = True
    _attr_name = None  # the entity is named after its device, i.e. the service

    def __init__(self, entry: QwenConfigEntry, subentry: ConfigSubentry) -> None:
        """Create the entity of one speech-to-text subentry of the account ``entry``.

        Unique id and device are the subentry's id: a subentry that migration made from an
        entry of version 1 has the entry's id, so its entity keeps its unique id.
        """
        self._entry = entry
        self._subentry_id = subentry.subentry_id
        self._state: SpeechToTextState = entry.runtime_data.state_of(subentry.subentry_id)
        self._attr_unique_id = subentry.subentry_id
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="Alibaba Cloud",
            model=entry.data[CONF_MODEL],
            entry_type=DeviceEntryType.SERVICE,
        )

    @property
    @override
    def supported_languages(self) -> list[str]:
        """Return Qwen's languages in the forms Assist pipelines use."""
        return list(HA_LANGUAGE_TAGS)

    @property
    @override
    def supported_formats(self) -> list[stt.AudioFormats]:
        """Return raw PCM in a WAV stream."""
        return [stt.AudioFormats.WAV]

    @property
    @override
    def supported_codecs(self) -> list[stt.AudioCodecs]:
        """Return PCM, which Qwen takes (Assist offers no Opus for streaming)."""
        return [stt.AudioCodecs.PCM]

    @property
    @override
    def supported_bit_rates(self) -> list[stt.AudioBitRates]:
        """Return 16-bit samples."""
        return [stt.AudioBitRates.BITRATE_16]

    @property
    @override
    def supported_sample_rates(self) -> list[stt.AudioSampleRates]:
        """Return 16 kHz and 8 kHz, which Qwen accepts."""
        return [stt.AudioSampleRates.SAMPLERATE_16000, stt.AudioSampleRates.SAMPLERATE_8000]

    @property
    @override
    def supported_channels(self) -> list[stt.AudioChannels]:
        """Return mono."""
        return [stt.AudioChannels.CHANNEL_MONO]

    if compat.HAS_AUDIO_PROCESSING:  # HA 2026.5+ asks; older versions have no such setting

        @property
        @override
        def audio_processing(self) -> compat.SpeechAudioProcessing:
            """Ask for no external VAD when Qwen decides where speech ends."""
            return dataclasses.replace(
                compat.DEFAULT_AUDIO_PROCESSING, requires_external_vad=not self._qwen_endpointing
            )

    @property
    def _options(self) -> dict[str, Any]:
        """Return the subentry's settings as they are now (read at every recognition)."""
        subentry = self._entry.subentries.get(self._subentry_id)
        return {**DEFAULT_OPTIONS, **(subentry.data if subentry else {})}

    @property
    def _qwen_endpointing(self) -> bool:
        """Tell whether Qwen's server VAD, not Home Assistant, ends the command."""
        options = self._options
        return bool(
            options[CONF_ENDPOINTING] == ENDPOINTING_QWEN and options[CONF_VAD_MODE] == VAD_SERVER
        )

    @override
    async def async_process_audio_stream(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
    ) -> stt.SpeechResult:
        """Return the transcript, streaming each chunk to Qwen as it arrives (HA before 2026.11)."""
        async with contextlib.aclosing(self._results(metadata, stream, progress=False)) as results:
            async for result in results:
                if isinstance(result, stt.SpeechResult):  # the only item without progress
                    return result
        raise RuntimeError("speech-to-text ended without a result")  # pragma: no cover

    if compat.HAS_PARTIAL_RESULTS:

        @override
        async def async_process_audio_stream_with_progress(
            self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes]
        ) -> AsyncGenerator[compat.PartialSpeechResult | stt.SpeechResult]:
            """Yield the transcript so far while the person speaks, then the result (2026.11+).

            Yields ``stt.PartialSpeechResult`` items, each replacing the previous one, then
            exactly one ``stt.SpeechResult``. HA calls this for every recognition, also
            through ``internal_async_process_audio_stream``, which keeps only the result:
            that is what the Assist pipeline of 2026.11.0 calls, so no part of Home Assistant
            shows the partials yet.
            """
            async with contextlib.aclosing(
                self._results(metadata, stream, progress=True)
            ) as results:
                async for result in results:
                    if isinstance(result, str):
                        yield compat.PartialSpeechResult(result)
                    else:
                        yield result

    async def _results(
        self, metadata: stt.SpeechMetadata, stream: AsyncIterable[bytes], *, progress: bool
    ) -> AsyncGenerator[str | stt.SpeechResult]:
        """Yield for both entry points: with ``progress`` the transcript so far, then the result."""
        options = self._options
        runtime = self._state
        home = self._entry.runtime_data.home_context.text if options[CONF_HOME_CONTEXT] else ""
        user_text = str(options[CONF_CONTEXT] or "")
        started = time.monotonic()
        summary = SessionSummary(
            sample_rate=int(metadata.sample_rate), partials_yielded=0 if progress else None
        )
        result = stt.SpeechResult(None, stt.SpeechResultState.ERROR)
        client: QwenRealtimeClient | None = None
        # "If Qwen fails, use": the audio is held so that the other engine hears all of it.
        fallback_id: str | None = options.get(CONF_FALLBACK_STT) or None
        held: HeldAudio | None = None
        if fallback_id is not None:
            max_bytes = int(MAX_REQUEST_SECONDS * int(metadata.sample_rate) * 2)  # 16-bit mono
            held = HeldAudio(stream, max_bytes)
            stream = held.reader()
            if skipped := qwen_skipped(runtime):  # Qwen failed moments ago: no session
                result = await self._answer_elsewhere(fallback_id, metadata, held, skipped)
                summary.qwen_skipped = True
                summary.duration_seconds = round(time.monotonic() - started, 3)
                runtime.last_session = summary
                yield result
                return
        try:
            config = session_config(
                self._entry.data,
                options,
                pipeline_language=metadata.language,
                sample_rate=int(metadata.sample_rate),
                context=build_context(user_text, home),
            )
            summary.language = config.language
            summary.context_chars = len(config.context)
            summary.home_names_sent = home_names_sent(config.context, user_text) if home else 0
            client = make_client(self._entry.data, config)
            recognition = Recognition(client, stream, first_final_ends=self._qwen_endpointing)
            async with contextlib.aclosing(recognition.transcripts()) as transcripts:
                async for text, final in transcripts:
                    if final:
                        result = stt.SpeechResult(text, stt.SpeechResultState.SUCCESS)
                        runtime.breaker.record_success()
                    elif summary.partials_yielded is not None:  # handed to Home Assistant
                        summary.partials_yielded += 1
                        yield text
        except QwenError as err:
            summary.error = type(err).__name__
            if isinstance(err, AuthenticationError):
                _LOGGER.error("Qwen rejected the API key (%s); reauthentication is needed", err)
            else:
                _LOGGER.error("Speech-to-text with Qwen failed: %s", err)
            async_recognition_failed(self.hass, self._entry, err)
            # A rejected key is not handed over: it needs reauthentication, not an answer.
            rejected_key = isinstance(err, AuthenticationError)
            if held is not None and fallback_id is not None and not rejected_key:
                reason = qwen_failed(runtime, err)
                result = await self._answer_elsewhere(fallback_id, metadata, held, reason)
        finally:
            if held is not None:
                await held.aclose()
            if client is not None:
                summary.session_id = client.results.session_id
                summary.audio_bytes = client.sender.audio_bytes_sent
                # Closing waits for the WebSocket closing handshake, a full round trip to
                # the region: the pipeline gets its result without waiting for that. The
                # task belongs to the entry, so unloading the entry cancels it.
                self._entry.async_create_background_task(
                    self.hass, client.close(), name=f"{DOMAIN} close session", eager_start=True
                )
            summary.duration_seconds = round(time.monotonic() - started, 3)
            runtime.last_session = summary
        yield result

    async def _answer_elsewhere(
        self, entity_id: str, metadata: stt.SpeechMetadata, held: HeldAudio, reason: str
    ) -> stt.SpeechResult:
        """Return the "If Qwen fails, use" entity's result for all the held audio."""
        try:
            return await transcribe_elsewhere(
                self.hass,
                self._state,
                entity_id=entity_id,
                metadata=metadata,
                audio=held,
                reason=reason,
            )
        finally:
            await held.aclose()
