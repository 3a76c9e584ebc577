"""Failures of the Qwen service and malformed Wyoming input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from qwen_asr_realtime import Timeouts
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from tests.support.server_helpers import (
    HOST,
    LIVE_AUDIO,
    StartServer,
    read_reply,
    send_audio,
    transcribe,
    wait_sessions_closed,
)
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer


async def _still_serving(port: int) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
    assert event is not None and Info.is_type(event.type)


@pytest.mark.parametrize(
    ("status", "code"), [(401, "auth-failed"), (403, "auth-failed"), (503, "connection-failed")]
)
async def test_rejected_handshake_gives_error_and_close(
    port: int,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    status: int,
    code: str,
) -> None:
    emulator.faults.reject_status = status
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None and reply.error.code == code
    assert reply.text is None and reply.closed
    emulator.faults.reject_status = None
    await _still_serving(port)


async def test_wrong_key_message_never_contains_the_key(
    start_server, speech_pcm: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(api_key="sk-secret-value-123")
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None and reply.error.code == "auth-failed"
    assert "sk-secret-value-123" not in reply.error.text
    assert "sk-secret-value-123" not in caplog.text


async def test_service_down_gives_connection_error(
    start_server, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(endpoint="ws://127.0.0.1:9/api-ws/v1/realtime")
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None and reply.error.code == "connection-failed"
    assert reply.closed


async def test_dropped_connection_mid_stream(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.faults.drop_after_audio_ms = 300
    reply = await transcribe(port, speech_pcm("two_commands"))
    assert reply.error is not None and reply.error.code == "connection-failed"
    assert reply.closed
    await _still_serving(port)


async def test_stalled_service_times_out(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(timeouts=Timeouts(connect=1, setup=1, finish=1, close=0.5))
    emulator.faults.stall_on = "session.finish"
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None and reply.error.code == "timeout"
    assert reply.closed
    await wait_sessions_closed(emulator)


async def test_service_error_event(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.faults.error_after_events = 3
    reply = await transcribe(port, speech_pcm("two_commands"))
    assert reply.error is not None and reply.error.code == "service-error"
    assert reply.closed
    await wait_sessions_closed(emulator)


async def test_silence_gives_empty_transcript(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    port = await start_server(audio=LIVE_AUDIO)  # the fault is in Qwen's VAD
    emulator.faults.silence_only = True
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.text == ""


async def _raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            return await reader.read()  # until the server closes
    finally:
        writer.close()


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff garbage that is not json\n",
        b'{"type": "audio-chunk", "payload_length": 1099511627776}\n',
        b'{"type": "audio-chunk", "data_length": -5}\n',
        b'["a list"]\n',
        b"x" * 70_000 + b"\n",
    ],
    ids=["garbage", "huge-payload", "negative-length", "not-an-object", "endless-line"],
)
async def test_malformed_input_closes_only_that_connection(port: int, data: bytes) -> None:
    await _raw_exchange(port, data)
    await _still_serving(port)


async def test_malformed_chunk_fields(port: int, emulator: QwenEmulator) -> None:
    header = {"type": "audio-chunk", "data": {"rate": "fast"}, "payload_length": 4}
    answer = await _raw_exchange(port, json.dumps(header).encode() + b"\n" + b"\x00" * 4)
    assert b'"error"' in answer
    await _still_serving(port)


async def test_bad_audio_format_is_an_error(port: int, emulator: QwenEmulator) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 7, 1).event())
        reply = await read_reply(client)
    assert reply.error is not None and reply.error.code == "bad-audio-format"
    await wait_sessions_closed(emulator)


async def test_chunk_before_start_is_ignored(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(AudioChunk(16000, 2, 1, b"\x00" * 3200).event())
        await client.write_event(AudioStop().event())  # stop without any request
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
        assert event is not None and Info.is_type(event.type)
    assert emulator.sessions == []


async def test_abrupt_disconnect_never_leaks_a_session(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    # At least one chunk: a request without audio opens no Qwen session at all.
    for opened, cut_after in enumerate((1, 3), start=1):
        async with AsyncTcpClient(HOST, port) as client:
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(16000, 2, 1).event())
            await send_audio(client, speech_pcm("two_commands")[: cut_after * 3200])
            # Disconnect only once the server's Qwen session is open (the case under test).
            async with asyncio.timeout(5):
                while len(emulator.sessions) < opened:
                    await asyncio.sleep(0.01)
        # The client is gone mid-request.
    await wait_sessions_closed(emulator)
    assert len(emulator.sessions) == 2
    await _still_serving(port)


async def test_idle_client_mid_request_is_timed_out(start_server, emulator: QwenEmulator) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(request_idle_seconds=0.5)
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        reply = await read_reply(client, timeout=5)
    assert reply.error is not None and reply.error.code == "timeout"
    await wait_sessions_closed(emulator)


async def test_failed_item_still_gives_a_transcript(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["turn on the bedroom fan", "open the door"])
    emulator.faults.fail_item = 1
    reply = await transcribe(port, speech_pcm("two_commands"))
    assert reply.text == "open the door"
