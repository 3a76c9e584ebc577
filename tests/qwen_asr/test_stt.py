"""The speech-to-text entity against the emulator."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import (
    CONF_ENDPOINT,
    CONF_ENDPOINTING,
    CONF_LANGUAGE,
    CONF_VAD_MODE,
    DOMAIN,
    VAD_MANUAL,
)
from custom_components.qwen_asr.realtime import ENDPOINTING_QWEN, LANGUAGE_AUTO, Timeouts

from .conftest import TEST_KEY, chunks, first_stt, pcm_metadata, stt_entity_id, until

KITCHEN = "turn on the kitchen lights"
TIME = "what time is it"
SUCCESS = stt.SpeechResultState.SUCCESS
ERROR = stt.SpeechResultState.ERROR


PROGRESS = hasattr(stt.SpeechToTextEntity, "internal_async_process_audio_stream_with_progress")


@pytest.fixture(params=["final", "progress"])
def recognize(
    request: pytest.FixtureRequest, hass: HomeAssistant, setup_entry: MockConfigEntry
) -> Callable[..., Any]:
    """``await recognize(pcm)`` -> SpeechResult, through each of HA's entry points.

    "final" is HA's ``internal_async_process_audio_stream``; "progress" (HA 2026.11+) is
    ``internal_async_process_audio_stream_with_progress``, whose items are checked here:
    partials, then exactly one final result. Every test below runs through both.
    """
    if request.param == "progress" and not PROGRESS:
        pytest.skip("this Home Assistant has no progress API (before 2026.11)")

    async def _run(
        audio: bytes | AsyncIterator[bytes], *, language: str = "en-US", sample_rate: int = 16000
    ) -> stt.SpeechResult:
        entity: Any = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, setup_entry))
        metadata = pcm_metadata(language, sample_rate)
        assert entity.check_metadata(metadata)
        stream = chunks(audio) if isinstance(audio, bytes) else audio
        if request.param == "final":
            result: stt.SpeechResult = await entity.internal_async_process_audio_stream(
                metadata, stream
            )
            return result
        items = [
            item
            async for item in entity.internal_async_process_audio_stream_with_progress(
                metadata, stream
            )
        ]
        *partials, final = items
        assert isinstance(final, stt.SpeechResult)
        assert all(isinstance(item, stt.PartialSpeechResult) for item in partials)
        return final

    return _run


@pytest.fixture
def script(emulator: Any) -> Callable[..., None]:
    """Set the emulator's transcripts for the next items."""

    def _set(*transcripts: str) -> None:
        emulator.recognizer_factory.transcripts = list(transcripts)

    return _set


async def test_entity_and_device(hass: HomeAssistant, setup_entry: MockConfigEntry) -> None:
    """One entity named after the service's device; formats Qwen accepts."""
    entity_id = stt_entity_id(hass, setup_entry)
    assert entity_id == "stt.qwen_asr_custom"
    entity = stt.async_get_speech_to_text_entity(hass, entity_id)
    assert entity is not None
    assert entity.supported_sample_rates == [
        stt.AudioSampleRates.SAMPLERATE_16000,
        stt.AudioSampleRates.SAMPLERATE_8000,
    ]
    assert {"en", "en-US", "zh", "zh-HK", "yue", "fil", "nb"} <= set(entity.supported_languages)
    entry = er.async_get(hass).async_get(entity_id)
    assert entry is not None and entry.device_id is not None
    # The entity and its device belong to the speech-to-text subentry, named by its id.
    subentry_id = first_stt(setup_entry).subentry_id
    assert (entry.unique_id, entry.config_subentry_id) == (subentry_id, subentry_id)
    device = dr.async_get(hass).async_get(entry.device_id)
    assert device is not None
    assert device.identifiers == {(DOMAIN, subentry_id)}
    assert device.name == "Qwen ASR (Custom)"
    assert device.entry_type is dr.DeviceEntryType.SERVICE


async def test_setup_and_unload(
    hass: HomeAssistant, emulator: Any, setup_entry: MockConfigEntry
) -> None:
    """Setup's account check leaves no session open; unloading unloads the entry."""
    assert setup_entry.state is ConfigEntryState.LOADED
    await until(lambda: all(session.closed_at is not None for session in emulator.sessions))
    assert len(emulator.sessions) == 1
    assert await hass.config_entries.async_unload(setup_entry.entry_id)
    await hass.async_block_till_done()
    assert setup_entry.state is ConfigEntryState.NOT_LOADED


async def test_server_vad_home_assistant_endpointing(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Every chunk is streamed; the stream's end finishes the session and waits for text."""
    script(KITCHEN)
    pcm = speech_pcm("turn_on_kitchen_lights")
    result = await recognize(_live(pcm, emulator))
    assert result == stt.SpeechResult(KITCHEN, SUCCESS)
    record = emulator.sessions[-1]
    assert record.config.language == "en"  # en-US in HA's form -> Qwen's code
    assert record.config.turn_detection is not None
    assert record.audio_bytes == len(pcm)
    types = record.client_types
    assert types[0] == "session.update"
    # 64 ms pieces: the client joins two into each append (>= 100 ms), the rest at the end.
    assert types.count("input_audio_buffer.append") == -(-len(pcm) // 4096)
    assert "input_audio_buffer.commit" not in types
    assert types[-1] == "session.finish"
    await until(lambda: record.closed_at is not None)


async def _live(pcm: bytes, emulator: Any) -> AsyncIterator[bytes]:
    """A live stream: its end comes after the session is configured (unlike a recording)."""
    stream = chunks(pcm)
    opened = len(emulator.sessions)  # setup may have opened one already
    yield await anext(stream)
    await until(
        lambda: (
            len(emulator.sessions) > opened
            and "session.update" in emulator.sessions[-1].client_types
        )
    )
    async for chunk in stream:
        yield chunk


async def test_a_stream_that_ended_before_the_session_was_configured_is_a_recording(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """All of the audio, its end included, in hand at once: manual mode, one commit per
    command (split at the silence), unpaced."""
    script("Stop the music.", "Open the garage door.")
    result = await recognize(speech_pcm("two_commands"))
    assert result == stt.SpeechResult("Stop the music. Open the garage door.", SUCCESS)
    record = emulator.sessions[-1]
    assert record.config.turn_detection is None
    assert record.client_types.count("input_audio_buffer.commit") == 2


async def test_utterances_are_joined(
    hass: HomeAssistant,
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """With Home Assistant endpointing, every utterance of the stream is returned."""
    script(KITCHEN, TIME)
    result = await recognize(speech_pcm("two_commands"))
    assert result.text == f"{KITCHEN} {TIME}"


async def test_manual_mode_commits(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Manual mode turns server VAD off and commits the whole command at the end."""
    set_options(setup_entry, **{CONF_VAD_MODE: VAD_MANUAL, CONF_LANGUAGE: "zh"})
    script(KITCHEN)
    result = await recognize(speech_pcm("turn_on_kitchen_lights"))
    assert result == stt.SpeechResult(KITCHEN, SUCCESS)
    record = emulator.sessions[-1]
    assert record.config.turn_detection is None
    assert record.config.language == "zh"  # the option wins over the pipeline's language
    assert record.client_types[-2:] == ["input_audio_buffer.commit", "session.finish"]


async def test_qwen_endpointing_returns_on_first_final(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Qwen decides: the result comes back although the stream never ends."""
    set_options(setup_entry, **{CONF_ENDPOINTING: ENDPOINTING_QWEN, CONF_LANGUAGE: LANGUAGE_AUTO})
    script(KITCHEN)
    pcm = speech_pcm("turn_on_kitchen_lights") + bytes(32000)  # + 1 s of silence
    result = await asyncio.wait_for(recognize(chunks(pcm, then_wait=True)), 10)
    assert result == stt.SpeechResult(KITCHEN, SUCCESS)
    record = emulator.sessions[-1]
    assert record.config.language is None  # automatic detection
    assert "session.finish" not in record.client_types
    await until(lambda: record.closed_at is not None)


async def test_qwen_endpointing_stream_ends_first(
    hass: HomeAssistant,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """If Home Assistant's VAD ends the stream before Qwen's final, the session finishes."""
    set_options(setup_entry, **{CONF_ENDPOINTING: ENDPOINTING_QWEN})
    script(KITCHEN)
    pcm = speech_pcm("turn_on_kitchen_lights")
    result = await recognize(pcm[: len(pcm) // 2])
    assert result.result is SUCCESS
    assert result.text


@pytest.mark.skipif(
    not hasattr(stt, "DEFAULT_AUDIO_PROCESSING"), reason="HA before 2026.5 has no audio_processing"
)
async def test_audio_processing_follows_endpointing(
    hass: HomeAssistant, setup_entry: MockConfigEntry, set_options: Callable[..., None]
) -> None:
    """HA 2026.5+: no external VAD is needed when Qwen decides the end of speech."""
    entity: Any = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, setup_entry))
    assert entity.audio_processing.requires_external_vad is True
    set_options(setup_entry, **{CONF_ENDPOINTING: ENDPOINTING_QWEN})
    assert entity.audio_processing.requires_external_vad is False
    set_options(setup_entry, **{CONF_VAD_MODE: VAD_MANUAL})
    assert entity.audio_processing.requires_external_vad is True


async def test_8khz(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """8 kHz audio is declared to Qwen as such."""
    script(TIME)
    result = await recognize(speech_pcm("what_time_is_it", rate=8000), sample_rate=8000)
    assert result.text == TIME
    assert emulator.sessions[-1].config.sample_rate == 8000


async def test_auth_failure_starts_reauth(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 401 is an error result, one log line, and a reauth flow."""
    emulator.api_keys = frozenset({"another-key"})
    with caplog.at_level(logging.ERROR):
        result = await recognize(speech_pcm("what_time_is_it"))
    assert result == stt.SpeechResult(None, ERROR)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    errors = [r for r in caplog.records if r.name.startswith("custom_components.qwen_asr")]
    assert len(errors) == 1
    assert "reauthentication" in errors[0].getMessage()
    assert TEST_KEY not in caplog.text


@pytest.mark.parametrize(
    "fault",
    [
        {"error_after_events": 3},
        {"drop_after_audio_ms": 200},
        {"fail_item": 1},
        {"reject_status": 500},
    ],
)
async def test_service_failures_are_errors(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, Any],
) -> None:
    """Service errors, dropped connections and refused sessions give ERROR, no reauth."""
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    script(KITCHEN)
    result = await recognize(speech_pcm("turn_on_kitchen_lights"))
    if fault.get("fail_item"):
        # A failed utterance is not a failed session: Qwen simply heard nothing usable.
        assert result == stt.SpeechResult("", SUCCESS)
    else:
        assert result == stt.SpeechResult(None, ERROR)
        assert "Speech-to-text with Qwen failed" in caplog.text
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_unreachable_service(
    hass: HomeAssistant,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Nothing listening: an error result, not an exception."""
    hass.config_entries.async_update_entry(
        setup_entry, data={**setup_entry.data, CONF_ENDPOINT: "ws://127.0.0.1:1/api-ws/v1/realtime"}
    )
    result = await recognize(speech_pcm("what_time_is_it"))
    assert result == stt.SpeechResult(None, ERROR)


async def test_recognitions_run_in_parallel(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Two satellites at once: both stream at the same time (PARALLEL_UPDATES = 0)."""
    pcm = speech_pcm("what_time_is_it")
    tasks = [asyncio.create_task(recognize(chunks(pcm, then_wait=True))) for _ in range(2)]
    # The setup's check session, then two recognitions streaming together.
    await until(lambda: sum(session.audio_bytes > 0 for session in emulator.sessions) == 2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_cancellation_releases_everything(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Cancelling a recognition closes the socket and leaves no task behind."""
    task = asyncio.create_task(recognize(chunks(speech_pcm("what_time_is_it"), then_wait=True)))
    await until(lambda: emulator.sessions and emulator.sessions[-1].audio_bytes > 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: emulator.sessions[-1].closed_at is not None)
    # The session's own tasks and the closing one end too (closing may take a moment).
    await until(lambda: not [t for t in asyncio.all_tasks() if t.get_name().startswith("qwen")])


async def test_key_never_logged(
    hass: HomeAssistant,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Even debug logs of the integration and websockets leave the key out."""
    with caplog.at_level(logging.DEBUG):
        await recognize(speech_pcm("what_time_is_it"))
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert TEST_KEY not in caplog.text


@pytest.mark.skipif(not PROGRESS, reason="this Home Assistant has no progress API (before 2026.11)")
async def test_progress_shows_growing_partials_then_the_final(
    hass: HomeAssistant,
    setup_entry: MockConfigEntry,
    script: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """HA 2026.11+: through HA's own progress entry point, each partial is the whole
    transcript so far (earlier utterances included), then comes one final result."""
    entity: Any = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, setup_entry))
    script(KITCHEN, TIME)
    items = [
        item
        async for item in entity.internal_async_process_audio_stream_with_progress(
            pcm_metadata("en"), chunks(speech_pcm("two_commands"))
        )
    ]
    *partials, final = items
    assert final == stt.SpeechResult(f"{KITCHEN} {TIME}", SUCCESS)
    texts = [partial.text for partial in partials]
    assert len(texts) >= 4, texts
    assert all(isinstance(partial, stt.PartialSpeechResult) for partial in partials)
    assert all(b != a for a, b in itertools.pairwise(texts))  # only changes
    assert KITCHEN.startswith(texts[0]) and len(texts[0]) < len(KITCHEN)
    assert KITCHEN in texts  # the first utterance completed
    later = texts[texts.index(KITCHEN) + 1 :]
    assert later and all(text.startswith(KITCHEN + " ") for text in later)  # the second grows
    assert texts[-1] == f"{KITCHEN} {TIME}"


async def test_final_only_entry_point_creates_no_partials(
    hass: HomeAssistant, setup_entry: MockConfigEntry, speech_pcm: Callable[..., bytes]
) -> None:
    """Before 2026.11 HA calls async_process_audio_stream: it returns the final result."""
    entity: Any = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, setup_entry))
    result = await entity.async_process_audio_stream(
        pcm_metadata("en"), chunks(speech_pcm("what_time_is_it"))
    )
    assert isinstance(result, stt.SpeechResult)
    assert result.result is SUCCESS


async def test_broken_audio_stream_raises_and_closes(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """If the pipeline's audio fails, that error reaches the pipeline; the session ends."""

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in chunks(speech_pcm("what_time_is_it")[:16000]):
            yield chunk
        raise RuntimeError("microphone unplugged")

    with pytest.raises(RuntimeError, match="microphone unplugged"):
        await asyncio.wait_for(recognize(broken()), 10)
    await until(lambda: emulator.sessions[-1].closed_at is not None)
    assert "session.finish" in emulator.sessions[-1].client_types


async def test_session_that_never_finishes_times_out(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """The wait for Qwen's last transcript is bounded by the client's finish timeout."""
    emulator.faults.stall_on = "session.finish"
    with patch("custom_components.qwen_asr.helpers.Timeouts", return_value=Timeouts(finish=0.3)):
        result = await asyncio.wait_for(recognize(speech_pcm("what_time_is_it")), 10)
    assert result == stt.SpeechResult(None, ERROR)


async def test_qwen_endpointing_wait_is_bounded(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
) -> None:
    """Qwen decides, but hears no speech and the audio never ends: an error, in time."""
    set_options(setup_entry, **{CONF_ENDPOINTING: ENDPOINTING_QWEN})
    emulator.faults.silence_only = True
    with patch("custom_components.qwen_asr.recognition.MAX_UTTERANCE_SECONDS", 0.5):
        result = await asyncio.wait_for(recognize(chunks(bytes(3200), then_wait=True)), 10)
    assert result == stt.SpeechResult(None, ERROR)


async def test_closing_belongs_to_the_entry(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """The session closes after the result, in a task of the entry: unloading cancels it."""
    await recognize(speech_pcm("what_time_is_it"))
    closing = [t for t in asyncio.all_tasks() if t.get_name() == "qwen_asr close session"]
    assert len(closing) == 1 and not closing[0].done()
    assert await hass.config_entries.async_unload(setup_entry.entry_id)
    assert closing[0].cancelled()
    await until(lambda: emulator.sessions[-1].closed_at is not None)  # the socket is gone


async def test_every_task_has_a_name(
    hass: HomeAssistant,
    emulator: Any,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """While a recognition runs, no task of the integration has asyncio's default name."""
    task = asyncio.create_task(recognize(chunks(speech_pcm("what_time_is_it"), then_wait=True)))
    await until(lambda: emulator.sessions and emulator.sessions[-1].audio_bytes > 0)
    ours = [
        t
        for t in asyncio.all_tasks()
        if t is not task and "custom_components/qwen_asr" in t.get_coro().cr_code.co_filename
    ]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    names = sorted(t.get_name() for t in ours)
    assert "qwen_asr feed audio" in names and "qwen-receive" in names
    assert not [name for name in names if name.startswith("Task-")], names
