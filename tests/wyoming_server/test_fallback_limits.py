"""--max-sessions and --daily-audio-minutes with --fallback-uri: the fallback answers what the
gate refuses, with no Qwen session, no slot held and no audio counted against the budget.

The limits protect Qwen's spend and the account's connection limit, not the local engine.
If the fallback fails too, the client gets the refusal's Error, as without a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from qwen_asr_realtime import CircuitBreaker
from wyoming.audio import AudioStop
from wyoming.client import AsyncTcpClient

from tests.support.fallback_helpers import (
    PRIMARY_TEXT,
    Fallback,
    SilentFallback,
    silent_fallback,
    timed_request,
)
from tests.support.ports import free_port
from tests.support.server_helpers import (
    HOST,
    StartServer,
    open_request,
    read_reply,
    send_audio,
    wait_sessions_closed,
    wait_until,
)
from wyoming_server.audio import TARGET_FORMAT
from wyoming_server.audio_budget import read_usage, utc_today, write_usage
from wyoming_server.emulator import QwenEmulator
from wyoming_server.fallback import HELD_LIMIT, AudioRecording, FallbackEngine, HeldAudio
from wyoming_server.health import describe
from wyoming_server.info import engine_in_use


async def _finish(client: AsyncTcpClient, pcm: bytes) -> str | None:
    """Send the rest of a request opened with ``open_request``; its transcript."""
    await send_audio(client, pcm)
    await client.write_event(AudioStop().event())
    reply = await read_reply(client)
    await client.disconnect()
    return reply.text


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_used_up_budget_is_answered_by_the_fallback_at_no_cost(
    start_server: StartServer,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pcm = speech_pcm("what_time_is_it")
    state = tmp_path / "audio-usage.json"
    engine = fallback.engine()
    port = await start_server(daily_audio_seconds=1.0, state_file=state, fallback=engine)
    expected = await fallback.direct(pcm)
    first = await timed_request(port, pcm)
    assert first.reply.text == PRIMARY_TEXT  # within the budget: Qwen
    await wait_until(lambda: read_usage(state, utc_today()))
    used = read_usage(state, utc_today())

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        second = await timed_request(port, pcm)
    assert second.reply.error is None, second.reply.error
    assert second.reply.text == expected
    assert len(primary.sessions) == 1  # no Qwen session for the refused request
    assert read_usage(state, utc_today()) == used  # and no audio counted
    assert _warnings(caplog) == [
        f"Asking the fallback {engine.uri}: "
        "the daily audio budget is used up (--daily-audio-minutes)"
    ]
    info = await describe(f"tcp://{HOST}:{port}", 5)
    in_use = engine_in_use(info.asr[0].description) or ""
    assert in_use.startswith(f"fallback {engine.uri}") and "budget" in in_use


async def test_busy_is_answered_by_the_fallback_and_leaks_no_slot(
    start_server: StartServer,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    pcm = speech_pcm("what_time_is_it")
    engine = fallback.engine()
    port = await start_server(max_sessions=1, fallback=engine)
    expected = await fallback.direct(pcm)
    in_flight = await open_request(port)
    await wait_until(lambda: primary.sessions)  # it holds the only slot

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        refused = await timed_request(port, pcm)
    assert refused.reply.error is None, refused.reply.error
    assert refused.reply.text == expected
    assert len(primary.sessions) == 1
    assert _warnings(caplog) == [
        f"Asking the fallback {engine.uri}: all 1 Qwen sessions are in use (--max-sessions)"
    ]

    assert await _finish(in_flight, pcm) == PRIMARY_TEXT
    await wait_sessions_closed(primary)  # both ended: the slot is free (none leaked)
    third = await timed_request(port, pcm)
    assert third.reply.text == PRIMARY_TEXT
    assert len(primary.sessions) == 2


async def test_a_request_the_breaker_skips_holds_no_session_slot(
    start_server: StartServer,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
) -> None:
    """The slot bounds Qwen sessions: a request the fallback alone answers needs none."""
    pcm = speech_pcm("what_time_is_it")
    engine = fallback.engine(breaker=CircuitBreaker(60.0))
    port = await start_server(max_sessions=1, fallback=engine)
    expected = await fallback.direct(pcm)
    engine.breaker.record_failure("QwenConnectionError: down for the test")
    skipped = await open_request(port)  # in flight at the fallback (manual mode: no answer yet)
    # The fallback (a server too) opens its session when audio reaches it.
    await send_audio(skipped, pcm[:3200])
    await wait_until(lambda: len(fallback.emulator.sessions) == 2)

    engine.breaker.record_success()  # Qwen is tried again, while the skipped one goes on
    again = await timed_request(port, pcm)
    assert again.reply.error is None, again.reply.error
    assert again.reply.text == PRIMARY_TEXT
    assert await _finish(skipped, pcm[3200:]) == expected
    assert len(primary.sessions) == 1


@pytest.mark.parametrize("fallback_state", ["down", "silent"])
@pytest.mark.parametrize("limit", ["budget-exceeded", "busy"])
async def test_a_failing_fallback_answers_the_refusal(
    start_server: StartServer,
    primary: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    fallback_state: str,
    limit: str,
) -> None:
    """The same Error as without a fallback, once the fallback has failed or timed out."""
    pcm = speech_pcm("what_time_is_it")
    limits: dict[str, object] = {"max_sessions": 1}
    refusal = "The server is busy: 1 requests are in progress (--max-sessions 1); try again shortly"
    if limit == "budget-exceeded":
        state = tmp_path / "audio-usage.json"
        write_usage(state, utc_today(), 60.0)
        limits = {"daily_audio_seconds": 60.0, "state_file": state}
        refusal = (
            "The daily audio budget is used up (60.0 of 60 seconds sent to Qwen today, UTC; "
            "--daily-audio-minutes 1); it starts again at midnight UTC"
        )
    silent: SilentFallback | None = None
    async with contextlib.AsyncExitStack() as stack:
        if fallback_state == "down":
            engine = FallbackEngine(HOST, free_port(), connect_timeout=1.0, answer_timeout=2.0)
        else:
            silent = await stack.enter_async_context(silent_fallback())
            engine = silent.engine
        port = await start_server(fallback=engine, **limits)
        if limit == "busy":
            in_flight = await open_request(port)
            stack.push_async_callback(in_flight.disconnect)
            await wait_until(lambda: primary.sessions)
        timed = await asyncio.wait_for(timed_request(port, pcm), 15)  # nothing hangs
    error = timed.reply.error
    assert error is not None and (error.code, error.text) == (limit, refusal)
    assert timed.reply.closed
    assert f"Asking the fallback {engine.uri}" in caplog.text  # the fallback was tried
    assert silent is None or silent.connections == 1
    assert len(primary.sessions) == (1 if limit == "busy" else 0)


def test_the_fallbacks_copies_of_all_requests_share_one_bound() -> None:
    """A request that would pass the shared bound keeps no more; a closed one gives back."""
    held = HeldAudio(max_seconds=1.0)  # 32,000 bytes in all
    first, second, third = (AudioRecording(300.0, held) for _ in range(3))
    for recording in (first, second, third):
        recording.set_format(TARGET_FORMAT)
    first.add(bytes(25_600))  # 0.8 s
    second.add(bytes(3_200))  # 0.1 s
    assert not second.overflowed
    second.add(bytes(9_600))  # 0.3 s more would pass 1 s in all
    assert second.incomplete == HELD_LIMIT and second.size == 3_200
    second.add(bytes(320))  # nothing more once a piece was dropped: the copy has a gap
    assert second.size == 3_200 and held.size == 28_800
    first.release()
    assert held.size == 3_200 and first.size == 0 and not first.pieces
    third.add(bytes(16_000))
    assert not third.overflowed and held.size == 19_200
    first.release()  # twice: nothing more given back
    assert held.size == 19_200


async def test_qwen_failing_after_the_shared_bound_answers_its_error_not_a_partial_copy(
    start_server: StartServer,
    primary: QwenEmulator,
    fallback: Fallback,
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fallback would hear only the start of the command: the client gets Qwen's error,
    and the request's copy is given back when it ends."""
    primary.faults.drop_after_audio_ms = 1500
    engine = fallback.engine()
    engine.held = HeldAudio(max_seconds=1.0)
    port = await start_server(fallback=engine)
    timed = await timed_request(port, speech_pcm("two_commands"), pace=0.02)
    assert timed.reply.error is not None and timed.reply.text is None
    assert not fallback.emulator.sessions  # the fallback was never asked
    assert any(HELD_LIMIT in message for message in _warnings(caplog))
    await wait_until(lambda: engine.held.size == 0)
