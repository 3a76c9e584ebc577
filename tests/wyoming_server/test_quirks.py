"""The Wyoming server with the emulator's quirk switches on, driven the way HA drives it:
a stalled service, rate limits, context echo, SelectProgram, and home names as context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from qwen_asr_realtime import RetryPolicy, Timeouts, VadConfig
from wyoming.asr import Transcribe
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import SelectProgram

from tests.support.server_helpers import (
    HOST,
    Reply,
    read_reply,
    send_audio,
    transcribe,
    wait_sessions_closed,
)
from wyoming_server.emulator import Behaviour, QwenEmulator

StartServer = Callable[..., object]
# The server's production bounds for the end of a request (--timeout 20, --stall-timeout 3).
PRODUCTION = Timeouts(connect=3, setup=3, close=1)
QUICK = RetryPolicy(delays=(0.05, 0.1), jitter=0)


async def _timed_request(
    port: int, pcm: bytes, *, select: str | None = None, timeout: float = 30.0
) -> tuple[Reply, float]:
    """One request as HA sends it; returns the reply and the seconds from AudioStop to it."""
    async with AsyncTcpClient(HOST, port) as client:
        if select is not None:
            await client.write_event(SelectProgram(name=select).event())
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        await send_audio(client, pcm, chunk_ms=10)  # HA's 10 ms pieces
        await client.write_event(AudioStop().event())
        stopped = time.monotonic()
        reply = await read_reply(client, timeout)
        return reply, time.monotonic() - stopped


async def test_a_service_silent_after_audio_stop_is_a_timeout_within_5_s(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    emulator.faults.stall_on = "session.finish"
    port = await start_server(timeouts=PRODUCTION)
    reply, elapsed = await _timed_request(port, speech_pcm("what_time_is_it"))
    print(f"AudioStop -> Error for a stalled service: {elapsed:.2f} s")
    assert reply.error is not None and reply.error.code == "timeout", reply.types
    assert "sent nothing for 3 s" in reply.error.text
    assert reply.closed
    assert 3.0 <= elapsed < 5.0
    await wait_sessions_closed(emulator)


async def test_a_slowly_finalizing_service_is_waited_for(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    """Events keep coming after AudioStop, each 1.2 s late: longer than 3 s in all, never
    3 s of silence, so the transcript arrives."""
    emulator.faults.finish_event_delay_seconds = 1.2
    emulator.recognizer_factory.transcripts = ["What time is it?"]  # type: ignore[attr-defined]
    # Long VAD silence: the utterance ends at session.finish, so all its events follow it.
    port = await start_server(timeouts=PRODUCTION, vad=VadConfig(0.0, 6000))
    reply, elapsed = await _timed_request(port, speech_pcm("what_time_is_it"))
    assert reply.error is None, reply.error
    assert reply.text == "What time is it?"
    assert elapsed > 3.0


async def test_a_burst_of_rate_limits_costs_a_delay_not_the_command(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    """Three requests at once; the first two connections are refused for capacity. Every
    request is answered with its transcript."""
    emulator.faults.rate_limit = "connections"
    emulator.faults.rate_limit_sessions = 2
    emulator.recognizer_factory.transcripts = ["What time is it?"]  # type: ignore[attr-defined]
    port = await start_server(retry=RetryPolicy(delays=(0.2, 0.4), jitter=0))
    pcm = speech_pcm("what_time_is_it")
    replies = await asyncio.gather(*(transcribe(port, pcm) for _ in range(3)))
    assert [reply.text for reply in replies] == ["What time is it?"] * 3
    assert len(emulator.sessions) == 5  # 2 refused + 3 transcribed
    await wait_sessions_closed(emulator)


@pytest.mark.parametrize("via", ["error", "http"])
async def test_a_lasting_rate_limit_is_rate_limited_with_advice(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes], via: str
) -> None:  # type: ignore[no-untyped-def]
    emulator.faults.rate_limit = "requests"
    emulator.faults.rate_limit_via = via  # type: ignore[assignment]
    port = await start_server(retry=QUICK)
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None and reply.error.code == "rate-limited"
    assert "Wait a minute and try again" in reply.error.text
    assert reply.closed
    attempts = len(emulator.sessions) + len(emulator.rejected)
    assert attempts == len(QUICK.delays) + 1


async def test_context_echo_of_silence_is_an_empty_transcript(
    start_server, emulator: QwenEmulator
) -> None:  # type: ignore[no-untyped-def]
    emulator.behaviour = Behaviour.from_env(context_echo=True)
    port = await start_server(context="Kitchen\nGarage door")
    reply = await transcribe(port, bytes(32000))
    assert emulator.sessions[-1].transcripts == ["Kitchen\nGarage door"]  # it was echoed
    assert reply.error is None
    assert reply.text == ""
    assert reply.chunks == []  # the echo never showed as a partial either


@pytest.mark.parametrize("name", ["qwen-asr", "some-other-program"])
async def test_select_program_before_transcribe_is_accepted(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes], name: str
) -> None:
    emulator.recognizer_factory.transcripts = ["What time is it?"]  # type: ignore[attr-defined]
    reply, _ = await _timed_request(port, speech_pcm("what_time_is_it"), select=name)
    assert reply.error is None
    assert reply.text == "What time is it?"
    assert len(emulator.sessions) == 1  # SelectProgram did not start a session of its own


async def test_home_names_are_read_at_each_request(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    """After the context file's text, at every request's start (a rename applies at once)."""
    names = ["Kitchen\nAda's lamp"]
    port = await start_server(context="Qwen", home_names=lambda: names[0])
    await transcribe(port, speech_pcm("what_time_is_it"))
    names[0] = "Kitchen\nReading lamp"
    await transcribe(port, speech_pcm("what_time_is_it"))
    corpora = [session.config.corpus_text for session in emulator.sessions]
    assert corpora == ["Qwen\nKitchen\nAda's lamp", "Qwen\nKitchen\nReading lamp"]
