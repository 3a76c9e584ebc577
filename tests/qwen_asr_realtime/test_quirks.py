"""The real service's quirks, each switched on in the emulator, against the protocol client:
rate limits (retried while the audio is held), context echo, and the liveness watchdog."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest
from qwen_asr_realtime import (
    Final,
    Partial,
    QwenRealtimeClient,
    QwenTimeoutError,
    RateLimitError,
    RetryPolicy,
    ServiceError,
    Timeouts,
    VadConfig,
)
from qwen_asr_realtime.events import ErrorEvent
from qwen_asr_realtime.retry import error_from_event, is_rate_limit

from tests.support.session_helpers import (
    DEFAULT_FINISH,
    KEY,
    QUICK,
    append_all,
    session_client,
)
from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer
from wyoming_server.emulator.limits import RATE_LIMIT_ERRORS

KITCHEN = "Turn on the kitchen lights."


@pytest.fixture
async def service() -> AsyncIterator[QwenEmulator]:
    async with QwenEmulator(
        api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer([KITCHEN])
    ) as emulator:
        yield emulator


# -- capacity and rate limits ------------------------------------------------------------


@pytest.mark.parametrize("via", ["error", "http"])
@pytest.mark.parametrize("limit", ["connections", "requests", "burst"])
async def test_a_rate_limit_costs_a_delay_not_the_audio(
    service: QwenEmulator, speech_pcm: Callable[..., bytes], limit: str, via: str
) -> None:
    """Two refused connections, then a session: the audio appended before the first
    attempt reaches the third session whole, and is transcribed."""
    service.faults.rate_limit = limit  # type: ignore[assignment]
    service.faults.rate_limit_via = via  # type: ignore[assignment]
    service.faults.rate_limit_sessions = 2
    pcm = speech_pcm("turn_on_kitchen_lights")
    client = session_client(service)
    client.start()
    append_all(client, pcm)  # held: the session is not ready yet
    try:
        finals = await client.finish()
    finally:
        await client.close()
    assert [final.transcript for final in finals] == [KITCHEN]
    assert client.connect_attempts == 3
    accepted = [s for s in service.sessions if s.audio_bytes]
    assert len(accepted) == 1 and accepted[0].audio_bytes == len(pcm)
    if via == "error":  # the refused upgrades were sessions that got the error and a close
        assert [s.close_code for s in service.sessions[:2]] == [1013, 1013]
    else:
        assert [r.status for r in service.rejected] == [429, 429]


async def test_a_lasting_rate_limit_says_what_to_do(
    service: QwenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    service.faults.rate_limit = "connections"
    client = session_client(service)
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        await client.connect()
    elapsed = time.monotonic() - started
    await client.close()
    assert client.connect_attempts == len(QUICK.delays) + 1
    assert caught.value.detail == RATE_LIMIT_ERRORS["connections"][1]
    assert "Wait a minute and try again" in str(caught.value)
    assert elapsed >= sum(QUICK.delays)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == len(QUICK.delays)
    assert all(r.levelno == logging.WARNING for r in retries)
    # Later calls see the same failure; nothing is left running.
    with pytest.raises(RateLimitError):
        client.append_audio(b"\0\0")


def test_default_retry_is_short_and_bounded() -> None:
    policy = RetryPolicy()
    delays = [list(policy.backoff()) for _ in range(50)]
    assert all(len(run) == 4 for run in delays)
    assert max(sum(run) for run in delays) <= policy.max_total_delay < 5.0
    assert len({round(run[0], 6) for run in delays}) > 1  # jittered


@pytest.mark.parametrize(
    ("code", "message", "limited"),
    [
        ("", "connections too much max_connections 100", True),
        ("", "Requests rate limit exceeded, please try again later", True),
        ("", "Request rate increased too quickly", True),
        ("Throttling.RateQuota", "", True),
        ("internal_error", "Internal server error", False),
        ("invalid_value", "The audio field is not valid base64.", False),
    ],
)
def test_limit_messages_are_recognised(code: str, message: str, limited: bool) -> None:
    assert is_rate_limit(code, message) is limited
    error = error_from_event(ErrorEvent(code, message, "server_error", None, None))
    assert isinstance(error, RateLimitError if limited else ServiceError)


async def test_other_errors_while_connecting_are_not_retried(service: QwenEmulator) -> None:
    service.faults.error_after_events = 1  # a server error right after session.created
    client = session_client(service)
    with pytest.raises(ServiceError):
        await client.connect()
    await client.close()
    assert client.connect_attempts == 1 and len(service.sessions) == 1


# -- context echo ------------------------------------------------------------------------

CONTEXT = "Kitchen\nLiving room\nAda's lamp"


async def _session_events(client: QwenRealtimeClient, pcm: bytes) -> list[object]:
    events: list[object] = []

    async def collect() -> None:
        async for event in client.events():
            events.append(event)

    async with client:
        reader = asyncio.create_task(collect())
        append_all(client, pcm)
        await client.finish()
        await asyncio.wait_for(reader, 2)
    return events


async def test_context_echo_of_silence_becomes_an_empty_result(service: QwenEmulator) -> None:
    service.behaviour = Behaviour.from_env(context_echo=True)
    client = session_client(service, context=CONTEXT)
    events = await _session_events(client, bytes(32000))  # one second of silence
    assert service.sessions[-1].transcripts == [CONTEXT]  # the service did echo it
    finals = [event for event in events if isinstance(event, Final)]
    assert [final.transcript for final in finals] == [""]
    assert client.results.transcript == ""
    assert not [event for event in events if isinstance(event, Partial)]


async def test_speech_that_matches_the_context_is_kept(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Speech was detected: a transcript equal to the context is what the person said."""
    service.behaviour = Behaviour.from_env(context_echo=True)
    client = session_client(service, context=KITCHEN)
    await _session_events(client, speech_pcm("turn_on_kitchen_lights"))
    assert client.results.transcript == KITCHEN


async def test_manual_mode_drops_an_exact_echo(service: QwenEmulator) -> None:
    """Manual mode has no speech events: a final equal to the whole context is dropped,
    any other final is kept."""
    service.recognizer_factory = ScriptedRecognizer(["Kitchen. Living room. Ada's lamp.", KITCHEN])
    client = session_client(service, context=CONTEXT, vad=None)
    async with client:
        client.append_audio(bytes(16000))
        client.commit()
        client.append_audio(bytes(16000))
        finals = await client.finish()
    assert [final.transcript for final in finals] == ["", KITCHEN]


# -- liveness after session.finish -------------------------------------------------------


async def test_a_service_silent_after_finish_is_a_timeout_within_5_s(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Default bounds (20 s in total): the 3 s silence watchdog reports the stall."""
    service.faults.stall_on = "session.finish"
    client = session_client(service)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        started = time.monotonic()
        with pytest.raises(QwenTimeoutError, match="sent nothing for 3 s"):
            await client.finish()
        elapsed = time.monotonic() - started
    print(f"time to error for a stalled service: {elapsed:.2f} s")
    assert DEFAULT_FINISH.finish_silence is not None
    assert DEFAULT_FINISH.finish_silence <= elapsed < 5.0


async def test_a_slow_but_talking_service_is_never_cut(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Each event after session.finish comes 1 s late: finalizing takes longer than the
    2 s silence window (at least three events after finish in either emulator profile),
    and still completes."""
    service.faults.finish_event_delay_seconds = 1.0
    timeouts = Timeouts(connect=3.0, setup=3.0, finish=20.0, close=1.0, finish_silence=2.0)
    # Long VAD silence: only session.finish ends the utterance, so its events come after it.
    client = session_client(service, timeouts=timeouts, vad=VadConfig(0.2, 6000))
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        started = time.monotonic()
        finals = await client.finish()
        elapsed = time.monotonic() - started
    assert [final.transcript for final in finals] == [KITCHEN]
    assert elapsed > 1.5 * timeouts.finish_silence  # type: ignore[operator]


async def test_one_long_silent_gap_is_a_stall(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    service.faults.completed_delay_seconds = 4.0  # the final comes after 4 s of silence
    timeouts = Timeouts(connect=3.0, setup=3.0, finish=20.0, close=1.0, finish_silence=1.5)
    client = session_client(service, timeouts=timeouts, vad=VadConfig(0.2, 6000))
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        with pytest.raises(QwenTimeoutError, match="stalled"):
            await client.finish()


async def test_without_the_watchdog_only_the_total_bound_applies(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    service.faults.stall_on = "session.finish"
    timeouts = Timeouts(connect=3.0, setup=3.0, finish=1.0, close=1.0, finish_silence=None)
    client = session_client(service, timeouts=timeouts)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        with pytest.raises(QwenTimeoutError, match="final transcript"):
            await client.finish()


async def test_the_silence_is_counted_from_the_last_message_sent(service: QwenEmulator) -> None:
    """A paced backlog (VAD mode) still going out when finish() is called is not a stall:
    the service owes nothing before session.finish reaches it, seconds later."""
    timeouts = Timeouts(connect=3.0, setup=3.0, finish=20.0, close=1.0, finish_silence=1.0)
    client = session_client(service, timeouts=timeouts)
    async with client:
        # 5 s of silence at once: 2 s go ahead of real time, the rest is paced (no events).
        append_all(client, bytes(5 * 32000))
        started = time.monotonic()
        finals = await client.finish()
        elapsed = time.monotonic() - started
    assert finals == []
    assert elapsed > 1.5 * timeouts.finish_silence  # type: ignore[operator]
    assert service.sessions[-1].audio_bytes == 5 * 32000
