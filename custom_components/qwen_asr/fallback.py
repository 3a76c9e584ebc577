"""Option "If Qwen fails, use": another speech-to-text entity answers with the same audio.

The entity is called the way an Assist pipeline calls it (``stt.async_get_speech_to_text_entity``
then ``internal_async_process_audio_stream``, both in HA 2025.4 and 2026.11), with the
pipeline's metadata and the held audio from its first chunk on. A rejected API key is not
handed over: it needs reauthentication, and a working answer would hide that. After a
failure, the subentry's circuit breaker sends the next recognitions here without trying Qwen,
for 5 s, then 10 s, ... up to 60 s, until Qwen answers again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .held_audio import HeldAudio
from .models import FallbackSummary, SpeechToTextState
from .realtime import MAX_REQUEST_SECONDS, QwenError

_LOGGER = logging.getLogger(__name__)

# After the audio has ended, the other engine has this long to answer.
FALLBACK_ANSWER_SECONDS = 15.0


def fallback_language(metadata: stt.SpeechMetadata, supported: list[str]) -> str | None:
    """Return the pipeline's language in a form the other engine takes ("en-US" -> "en")."""
    if metadata.language in supported:
        return metadata.language
    base = metadata.language.split("-", 1)[0].lower()
    return next((tag for tag in supported if tag.split("-", 1)[0].lower() == base), None)


async def transcribe_elsewhere(
    hass: HomeAssistant,
    runtime: SpeechToTextState,
    *,
    entity_id: str,
    metadata: stt.SpeechMetadata,
    audio: HeldAudio,
    reason: str,
) -> stt.SpeechResult:
    """Return the other entity's result for the held audio; an error result if it cannot answer.

    ``reason``: why Qwen does not answer (``qwen_failed`` or ``qwen_skipped``).
    """
    started = time.monotonic()
    record = FallbackSummary(
        entity_id=entity_id,
        reason=reason,
        at=dt_util.utcnow().isoformat(),
        audio_bytes_held=audio.size,
    )
    result = stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    try:
        result = await _process(hass, entity_id, metadata, audio)
    except Exception as err:
        record.error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        _LOGGER.error("The fallback %s failed too: %s", entity_id, record.error)
    else:
        if result.result is stt.SpeechResultState.SUCCESS:
            _LOGGER.warning("%s answered because %s", entity_id, reason)
        else:
            record.error = "no transcript"
            _LOGGER.error("The fallback %s failed too: no transcript", entity_id)
    record.result = result.result.value
    record.audio_bytes = audio.size
    record.duration_seconds = round(time.monotonic() - started, 3)
    runtime.last_fallback = record
    return result


def qwen_failed(runtime: SpeechToTextState, failure: QwenError) -> str:
    """Open (or keep open) the breaker; the reason the other entity answers."""
    described = f"{type(failure).__name__}: {failure}"
    skipped = runtime.breaker.record_failure(described)
    return f"Qwen failed ({described}); skipped for {skipped:.0f} s"


def qwen_skipped(runtime: SpeechToTextState) -> str | None:
    """Return why Qwen is skipped now (the breaker is open), else None."""
    if runtime.breaker.allows_qwen():
        return None
    state = runtime.breaker.state()
    return f"Qwen is skipped for {state.retry_in:.0f} s after: {state.reason}"


async def _process(
    hass: HomeAssistant, entity_id: str, metadata: stt.SpeechMetadata, audio: HeldAudio
) -> stt.SpeechResult:
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    if entity is None:
        raise LookupError(f"{entity_id} is not a speech-to-text entity of this Home Assistant")
    if audio.overflowed:
        raise ValueError("the audio was longer than the recognition limit")
    language = fallback_language(metadata, list(entity.supported_languages))
    if language is None:
        raise ValueError(f"{entity_id} does not support the language {metadata.language}")
    metadata = dataclasses.replace(metadata, language=language)
    if not entity.check_metadata(metadata):
        raise ValueError(f"{entity_id} does not take this audio format")
    task = asyncio.create_task(
        entity.internal_async_process_audio_stream(metadata, audio.reader()),
        name="qwen_asr fallback recognition",
    )
    ended = asyncio.ensure_future(audio.ended.wait())
    try:
        # While the person speaks the pipeline bounds the stream; after it, the answer.
        await asyncio.wait(
            {task, ended}, timeout=MAX_REQUEST_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
        async with asyncio.timeout(FALLBACK_ANSWER_SECONDS):
            return await asyncio.shield(task)
    finally:
        ended.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait([task])
