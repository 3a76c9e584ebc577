"""Option "If Qwen fails, use": another stt entity of this HA answers with the held audio.

The other entity is a second Qwen ASR entry in front of its own emulator, in manual mode:
its transcript ("utterance 1 of 2.1 seconds") tells how much audio it heard, and the
primary's scripted emulator never says anything like it. "No audio lost": the answer
equals the other entity's own transcript of the whole recording.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import (
    CONF_ENDPOINT,
    CONF_FALLBACK_STT,
    CONF_VAD_MODE,
    DOMAIN,
    VAD_MANUAL,
)
from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics
from custom_components.qwen_asr.realtime import CircuitBreaker, Timeouts

from .conftest import (
    first_stt,
    pcm_metadata,
    stt_diagnostics,
    stt_entity_id,
    stt_subentry_data,
)

PRIMARY_TEXT = "the primary qwen answered"
SUCCESS = stt.SpeechResultState.SUCCESS
ERROR = stt.SpeechResultState.ERROR


def _set_fallback(hass: HomeAssistant, entry: MockConfigEntry, entity_id: str) -> None:
    """Give the entry's first speech-to-text this "If Qwen fails, use" entity."""
    subentry = first_stt(entry)
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_FALLBACK_STT: entity_id}
    )


@pytest.fixture
async def other_emulator() -> AsyncIterator[Any]:
    from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: PLC0415

    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer()
    ) as server:
        yield server


@pytest.fixture
async def other_entity(
    hass: HomeAssistant, setup_entry: MockConfigEntry, other_emulator: Any
) -> str:
    """A second speech-to-text entity (a Qwen ASR entry in manual mode) for the fallback."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Other engine",
        data={**setup_entry.data, CONF_ENDPOINT: other_emulator.url},
        subentries_data=[stt_subentry_data("Other engine", **{CONF_VAD_MODE: VAD_MANUAL})],
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return stt_entity_id(hass, entry)


@pytest.fixture
def primary(
    hass: HomeAssistant, emulator: Any, setup_entry: MockConfigEntry, other_entity: str
) -> Any:
    """The primary entry, with the other entity as its fallback; its emulator is scripted."""
    emulator.recognizer_factory.transcripts = [PRIMARY_TEXT] * 20
    _set_fallback(hass, setup_entry, other_entity)
    return emulator


async def paced(pcm: bytes, pace: float = 0.01, size: int = 3200) -> AsyncIterator[bytes]:
    """The pipeline's audio: 100 ms chunks, ``pace`` seconds apart."""
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]
        await asyncio.sleep(pace)


async def recognize(
    hass: HomeAssistant, entity_id: str, pcm: bytes, *, pace: float = 0.01
) -> tuple[stt.SpeechResult, float]:
    """The entity's result, and the ms from the stream's end to the result."""
    entity: Any = stt.async_get_speech_to_text_entity(hass, entity_id)
    ended = time.perf_counter()

    async def stream() -> AsyncIterator[bytes]:
        nonlocal ended
        async for chunk in paced(pcm, pace):
            yield chunk
        ended = time.perf_counter()

    result: stt.SpeechResult = await asyncio.wait_for(
        entity.internal_async_process_audio_stream(pcm_metadata("en-US"), stream()), 30
    )
    return result, (time.perf_counter() - ended) * 1000


def _report(case: str, result: stt.SpeechResult, ms: float) -> None:
    print(f"\n{case}: {result.text!r} {result.result.value}, end of audio -> result {ms:.0f} ms")


@pytest.mark.parametrize(
    ("case", "fault"),
    [
        ("dropped after 1 s", {"drop_after_audio_ms": 1000}),
        ("service error", {"error_after_events": 3}),
        ("stalled after session.finish", {"stall_on": "session.finish"}),
    ],
)
async def test_failure_is_answered_by_the_other_entity_with_all_audio(
    hass: HomeAssistant,
    primary: Any,
    other_entity: str,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
    case: str,
    fault: dict[str, Any],
) -> None:
    pcm = speech_pcm("two_commands")
    expected, _ = await recognize(hass, other_entity, pcm, pace=0)
    assert expected.result is SUCCESS and (expected.text or "").startswith("utterance 1 of")
    for name, value in fault.items():
        setattr(primary.faults, name, value)
    with patch("custom_components.qwen_asr.helpers.Timeouts", return_value=Timeouts(finish=1.0)):
        result, ms = await recognize(hass, stt_entity_id(hass, setup_entry), pcm)
    _report(case, result, ms)
    assert result == expected
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, setup_entry))
    last = diagnostics["last_fallback"]
    assert last["entity_id"] == other_entity and last["result"] == "success"
    assert last["reason"].startswith(
        tuple(
            f"Qwen failed ({kind}"
            for kind in ("QwenConnectionError", "ServiceError", "QwenTimeoutError")
        )
    )
    assert "two_commands" not in str(diagnostics) and "utterance" not in str(last)


@pytest.fixture
async def what_time(
    hass: HomeAssistant, other_entity: str, speech_pcm: Callable[..., bytes]
) -> tuple[bytes, stt.SpeechResult]:
    """A recording and the other entity's own answer to it: what the fallback returns."""
    pcm = speech_pcm("what_time_is_it")
    expected, _ = await recognize(hass, other_entity, pcm, pace=0)
    return pcm, expected


async def test_refused_connection_is_answered_by_the_other_entity(
    hass: HomeAssistant,
    primary: Any,
    setup_entry: MockConfigEntry,
    what_time: tuple[bytes, stt.SpeechResult],
) -> None:
    pcm, expected = what_time
    hass.config_entries.async_update_entry(
        setup_entry, data={**setup_entry.data, CONF_ENDPOINT: "ws://127.0.0.1:1/api-ws/v1/realtime"}
    )
    result, ms = await recognize(hass, stt_entity_id(hass, setup_entry), pcm)
    _report("refused", result, ms)
    assert result == expected


async def test_after_a_failure_qwen_is_skipped_then_tried_again(
    hass: HomeAssistant,
    primary: Any,
    setup_entry: MockConfigEntry,
    what_time: tuple[bytes, stt.SpeechResult],
) -> None:
    pcm, expected = what_time
    entity_id = stt_entity_id(hass, setup_entry)
    primary.faults.drop_after_audio_ms = 300
    failed, _ = await recognize(hass, entity_id, pcm)
    assert failed == expected
    sessions = len(primary.sessions)

    # Qwen is healthy again, but the breaker (5 s after a first failure) still skips it.
    primary.faults.drop_after_audio_ms = None
    skipped, ms = await recognize(hass, entity_id, pcm)
    _report("Qwen skipped", skipped, ms)
    assert skipped == expected
    assert len(primary.sessions) == sessions  # no Qwen session at all
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, setup_entry))
    reason = diagnostics["last_fallback"]["reason"]
    assert reason.startswith("Qwen is skipped for ") and " s after: QwenConnectionError" in reason
    assert diagnostics["last_session"]["qwen_skipped"] is True
    breaker = diagnostics["fallback_breaker"]
    assert 0 < breaker["skipping_qwen_for_seconds"] <= 5
    assert breaker["last_failure"].startswith("QwenConnectionError")

    # Once the interval is over, Qwen is tried again and its answer closes the breaker.
    state = setup_entry.runtime_data.state_of(first_stt(setup_entry).subentry_id)
    state.breaker = CircuitBreaker(first_seconds=0.2)
    primary.faults.drop_after_audio_ms = 300
    assert (await recognize(hass, entity_id, pcm))[0] == expected
    primary.faults.drop_after_audio_ms = None
    await asyncio.sleep(0.3)
    answered, _ = await recognize(hass, entity_id, pcm)
    assert answered.result is SUCCESS and PRIMARY_TEXT in (answered.text or "")
    assert state.breaker.allows_qwen()


async def test_qwen_answering_leaves_the_other_entity_alone(
    hass: HomeAssistant,
    primary: Any,
    other_emulator: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    result, _ = await recognize(hass, stt_entity_id(hass, setup_entry), speech_pcm("two_commands"))
    assert result.result is SUCCESS and PRIMARY_TEXT in (result.text or "")
    assert not any(record.audio_bytes for record in other_emulator.sessions)


async def test_rejected_key_asks_for_reauth_not_the_other_entity(
    hass: HomeAssistant,
    primary: Any,
    other_emulator: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    primary.api_keys = frozenset({"another-key"})
    result, ms = await recognize(hass, stt_entity_id(hass, setup_entry), speech_pcm("two_commands"))
    _report("rejected key", result, ms)
    assert result == stt.SpeechResult(None, ERROR)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert not any(record.audio_bytes for record in other_emulator.sessions)


async def test_other_entity_down_returns_the_error_in_bounded_time(
    hass: HomeAssistant,
    primary: Any,
    other_emulator: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    primary.faults.drop_after_audio_ms = 500
    other_emulator.faults.stall_on = "session.finish"
    with patch("custom_components.qwen_asr.helpers.Timeouts", return_value=Timeouts(finish=0.5)):
        result, ms = await recognize(
            hass, stt_entity_id(hass, setup_entry), speech_pcm("two_commands")
        )
    _report("other entity stalled", result, ms)
    assert result == stt.SpeechResult(None, ERROR)
    last = stt_diagnostics(await async_get_config_entry_diagnostics(hass, setup_entry))
    assert last["last_fallback"]["result"] == "error"


async def test_missing_other_entity_is_an_error(
    hass: HomeAssistant,
    primary: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    _set_fallback(hass, setup_entry, "stt.gone")
    primary.faults.drop_after_audio_ms = 300
    result, _ = await recognize(hass, stt_entity_id(hass, setup_entry), speech_pcm("two_commands"))
    assert result == stt.SpeechResult(None, ERROR)
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, setup_entry))
    last = diagnostics["last_fallback"]
    assert last["entity_id"] == "stt.gone" and "LookupError" in last["error"]


def test_language_in_the_form_the_other_engine_takes() -> None:
    from custom_components.qwen_asr.fallback import fallback_language  # noqa: PLC0415

    assert fallback_language(pcm_metadata("en-US"), ["en-US", "en"]) == "en-US"
    assert fallback_language(pcm_metadata("en-US"), ["de", "en"]) == "en"
    assert fallback_language(pcm_metadata("en-US"), ["de"]) is None


async def test_held_audio_replays_everything_and_reports_the_source_error() -> None:
    from custom_components.qwen_asr.held_audio import HeldAudio  # noqa: PLC0415

    async def broken() -> AsyncIterator[bytes]:
        yield b"ab"
        await asyncio.sleep(0)
        yield b"cd"
        raise OSError("microphone gone")

    held = HeldAudio(broken(), max_bytes=100)
    first = held.reader()
    assert await anext(first) == b"ab"
    with pytest.raises(OSError, match="microphone gone"):
        async for _ in first:
            pass
    replay = [chunk async for chunk in _until_error(held.reader())]
    assert replay == [b"ab", b"cd"]
    await held.aclose()


async def test_held_audio_is_bounded() -> None:
    from custom_components.qwen_asr.held_audio import HeldAudio  # noqa: PLC0415

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 10
            await asyncio.sleep(0)

    held = HeldAudio(endless(), max_bytes=35)
    assert [chunk async for chunk in held.reader()] == [b"x" * 10] * 3
    assert held.overflowed and held.size == 30
    await held.aclose()


async def _until_error(reader: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in reader:
            yield chunk
    except OSError:
        return
