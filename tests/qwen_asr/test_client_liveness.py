"""The entity fails fast through the client: a service silent after the end of the stream is
an ERROR result within 5 s, and a rate limit at connect costs a delay, not the command."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from homeassistant.components import stt
from homeassistant.core import HomeAssistant

from .conftest import chunks

KITCHEN = "turn on the kitchen lights"


async def test_a_service_silent_after_the_stream_is_an_error_within_5_s(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    emulator.faults.stall_on = "session.finish"
    ended: list[float] = []

    async def stream() -> AsyncIterator[bytes]:
        async for chunk in chunks(speech_pcm("turn_on_kitchen_lights")):
            yield chunk
        ended.append(time.monotonic())

    result = await recognize(stream())
    elapsed = time.monotonic() - ended[0]
    print(f"end of stream -> ERROR for a stalled service: {elapsed:.2f} s")
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    assert 3.0 <= elapsed < 5.0, elapsed


async def test_a_rate_limited_connect_is_retried_with_the_audio_held(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    emulator.faults.rate_limit = "connections"
    emulator.faults.rate_limit_sessions = 2
    emulator.recognizer_factory.transcripts = [KITCHEN]
    pcm = speech_pcm("turn_on_kitchen_lights")
    opened_before = len(emulator.sessions)  # the entry's setup check opened one already
    result = await recognize(pcm)
    assert result == stt.SpeechResult(KITCHEN, stt.SpeechResultState.SUCCESS)
    assert len(emulator.sessions) - opened_before == 3  # two refused, then the one that worked
    assert emulator.sessions[-1].audio_bytes == len(pcm)
