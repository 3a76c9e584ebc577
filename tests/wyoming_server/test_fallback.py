"""--fallback-uri: another Wyoming ASR answers with the request's audio when Qwen fails.

The fallback is a second wyoming-qwen-asr server in front of its own emulator, in manual
mode: its transcript of a request ("utterance 1 of 2.3 seconds") tells how much audio it
heard, and the primary's scripted emulator never says anything like it. "No audio lost"
means: the fallback's answer equals its answer for the whole recording sent to it directly.
Each case prints the time from AudioStop to the answer (not asserted: see the benchmark).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from qwen_asr_realtime import CircuitBreaker, RetryPolicy, Timeouts

from tests.support.fallback_helpers import (
    PRIMARY_TEXT,
    Fallback,
    Timed,
    silent_fallback,
    timed_request,
)
from tests.support.ports import free_port
from tests.support.server_helpers import HOST
from wyoming_server.emulator import QwenEmulator
from wyoming_server.fallback import FallbackEngine
from wyoming_server.health import describe
from wyoming_server.info import engine_in_use


def _report(case: str, timed: Timed) -> None:
    print(
        f"\n{case}: {timed.reply.text!r} error={timed.reply.error}, "
        f"AudioStop -> answer {timed.stop_to_answer_ms:.0f} ms"
    )


async def test_refused_connection_is_answered_by_the_fallback(
    start_server, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("what_time_is_it")
    port = await start_server(
        endpoint=f"ws://{HOST}:{free_port()}/api-ws/v1/realtime", fallback=fallback.engine()
    )
    timed = await timed_request(port, pcm, pace=0.02, language="de")
    _report("refused", timed)
    assert timed.reply.error is None
    assert fallback.emulator.sessions[0].config.language == "de"  # the request's language
    assert timed.reply.text == await fallback.direct(pcm)
    assert timed.reply.types == ["transcript-start", "transcript", "transcript-stop"]


async def test_dropped_after_one_second_loses_no_audio(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("two_commands")
    primary.faults.drop_after_audio_ms = 1000
    port = await start_server(fallback=fallback.engine())
    timed = await timed_request(port, pcm, pace=0.02)
    _report("dropped", timed)
    assert len(primary.sessions) == 1
    assert timed.reply.text == await fallback.direct(pcm)


@pytest.mark.parametrize("stall_timeout", [0.5, 1.5])
async def test_stall_after_finish_is_answered_by_the_fallback(
    start_server,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
    stall_timeout: float,
) -> None:  # type: ignore[no-untyped-def]
    """1.5 s is longer than PREPARE_FALLBACK_AFTER_SECONDS: the replay done meanwhile is used."""
    pcm = speech_pcm("what_time_is_it")
    primary.faults.stall_on = "session.finish"
    port = await start_server(
        fallback=fallback.engine(),
        timeouts=Timeouts(connect=3, setup=3, finish=5, close=0.5, finish_silence=stall_timeout),
    )
    timed = await timed_request(port, pcm)
    _report(f"stalled ({stall_timeout:g} s stall timeout)", timed)
    assert timed.reply.text == await fallback.direct(pcm)
    # One fallback session for the request (prepared or not), one for the direct request.
    assert len(fallback.emulator.sessions) == 2


@pytest.mark.parametrize(
    ("case", "fault", "value"),
    [
        ("service error", "error_after_events", 3),
        ("handshake refused (HTTP 503)", "reject_status", 503),
    ],
)
async def test_service_error_is_answered_by_the_fallback(
    start_server,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
    case: str,
    fault: str,
    value: int,
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("two_commands")
    setattr(primary.faults, fault, value)
    port = await start_server(fallback=fallback.engine())
    timed = await timed_request(port, pcm)
    _report(case, timed)
    assert timed.reply.text == await fallback.direct(pcm)


async def test_rate_limits_outlasting_the_retries_are_answered_by_the_fallback(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("what_time_is_it")
    primary.faults.rate_limit = "connections"  # every connection, so the retries run out
    port = await start_server(
        fallback=fallback.engine(), retry=RetryPolicy(delays=(0.05, 0.1), jitter=0.0)
    )
    timed = await timed_request(port, pcm, pace=0.02)
    _report("rate limited", timed)
    assert len(primary.sessions) + len(primary.rejected) >= 3  # first try and both retries
    assert timed.reply.text == await fallback.direct(pcm)


async def test_rejected_key_answers_an_error_not_the_fallback(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(api_key="wrong-key", fallback=fallback.engine())
    timed = await timed_request(port, speech_pcm("what_time_is_it"))
    _report("rejected key", timed)
    assert timed.reply.error is not None and timed.reply.error.code == "auth-failed"
    assert timed.reply.text is None
    assert fallback.emulator.sessions == []


async def test_rejected_key_uses_the_fallback_when_asked(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("what_time_is_it")
    port = await start_server(api_key="wrong-key", fallback=fallback.engine(on_auth_error=True))
    timed = await timed_request(port, pcm)
    _report("rejected key, --fallback-on-auth-error", timed)
    assert timed.reply.text == await fallback.direct(pcm)


async def test_fallback_down_returns_the_original_error(
    start_server, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    down = FallbackEngine(HOST, free_port(), connect_timeout=1.0, answer_timeout=2.0)
    port = await start_server(
        endpoint=f"ws://{HOST}:{free_port()}/api-ws/v1/realtime", fallback=down
    )
    timed = await asyncio.wait_for(timed_request(port, speech_pcm("what_time_is_it")), 15)
    _report("fallback down", timed)
    assert timed.reply.error is not None and timed.reply.error.code == "connection-failed"
    assert timed.reply.closed


async def test_silent_fallback_returns_the_original_error_in_bounded_time(
    start_server, primary: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    async with silent_fallback() as silent:
        primary.faults.drop_after_audio_ms = 500
        port = await start_server(fallback=silent.engine)
        timed = await asyncio.wait_for(timed_request(port, speech_pcm("two_commands")), 15)
        _report("fallback silent", timed)
        assert timed.reply.error is not None and timed.reply.error.code == "connection-failed"


async def test_breaker_skips_qwen_then_tries_it_again(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    pcm = speech_pcm("what_time_is_it")
    engine = fallback.engine(breaker=CircuitBreaker(3.0, 12.0))
    port = await start_server(fallback=engine)
    expected = await fallback.direct(pcm)

    primary.faults.drop_after_audio_ms = 300
    first = await timed_request(port, pcm)
    _report("breaker: Qwen fails", first)
    assert first.reply.text == expected and len(primary.sessions) == 1
    primary.faults.drop_after_audio_ms = None

    info = await describe(f"tcp://{HOST}:{port}", 5)
    assert (engine_in_use(info.asr[0].description) or "").startswith("fallback")

    skipped = await timed_request(port, pcm)
    _report("breaker: Qwen skipped", skipped)
    assert skipped.reply.text == expected
    assert len(primary.sessions) == 1  # no Qwen session while the circuit is open

    async with asyncio.timeout(10):
        while not engine.breaker.allows_qwen():
            await asyncio.sleep(0.05)
    again = await timed_request(port, pcm)
    _report("breaker: Qwen tried again", again)
    assert again.reply.text == PRIMARY_TEXT and len(primary.sessions) == 2
    info = await describe(f"tcp://{HOST}:{port}", 5)
    assert (engine_in_use(info.asr[0].description) or "").startswith("Qwen")


async def test_slow_qwen_that_answers_keeps_its_answer(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    primary.faults.finish_event_delay_seconds = 1.2  # alive, but slower than the prepare delay
    port = await start_server(fallback=fallback.engine())
    # Live (real-time chunks): a VAD session, whose only late event is session.finished.
    timed = await timed_request(port, speech_pcm("what_time_is_it"), pace=0.1)
    _report("slow Qwen", timed)
    assert timed.reply.text == PRIMARY_TEXT


async def test_requests_the_breaker_sends_to_the_fallback_free_their_session_slot(
    start_server, primary: QwenEmulator, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    """A request that opens no Qwen session takes no --max-sessions slot (one in flight:
    test_fallback_limits.py)."""
    pcm = speech_pcm("what_time_is_it")
    engine = fallback.engine(breaker=CircuitBreaker(60.0))
    port = await start_server(fallback=engine, max_sessions=1)
    expected = await fallback.direct(pcm)
    primary.faults.drop_after_audio_ms = 300
    first = await timed_request(port, pcm)
    assert first.reply.text == expected
    for _ in range(3):  # each one alone; the slot of the one before must be free again
        skipped = await timed_request(port, pcm)
        assert skipped.reply.error is None, skipped.reply.error
        assert skipped.reply.text == expected
    assert len(primary.sessions) == 1
