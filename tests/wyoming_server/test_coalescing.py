"""What the server sends Qwen for the audio Home Assistant sends it: 10 ms AudioChunks,
joined into ~100 ms appends; and the read timeout of a connection that keeps streaming."""

from __future__ import annotations

import asyncio
import audioop
from collections.abc import Callable

import pytest
from qwen_asr_realtime import AudioOptions
from wyoming.asr import Transcribe
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient

from tests.support.server_helpers import HOST, LIVE_AUDIO, read_reply, send_audio, transcribe
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.emulator import QwenEmulator

APPEND = "input_audio_buffer.append"


def _appends(emulator: QwenEmulator) -> int:
    return emulator.sessions[-1].client_types.count(APPEND)


async def _stream_10ms_chunks(port: int, pcm: bytes, *, rate: int = 16000, channels: int = 1):  # type: ignore[no-untyped-def]
    """One request as Home Assistant's wyoming integration sends it: 10 ms chunks."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    try:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate, 2, channels).event())
        await send_audio(client, pcm, rate=rate, channels=channels, chunk_ms=10)
        await client.write_event(AudioStop().event())
        return await read_reply(client)
    finally:
        await client.disconnect()


async def test_ten_ms_chunks_reach_qwen_as_100_ms_appends(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(audio=LIVE_AUDIO)
    pcm = speech_pcm("what_time_is_it")
    reply = await _stream_10ms_chunks(port, pcm)
    assert reply.text == "utterance 1 of 1.4 seconds"  # the scripted recognizer heard it all
    record = emulator.sessions[-1]
    assert record.audio_bytes == len(pcm)
    assert _appends(emulator) == -(-len(pcm) // 3200)  # 213 chunks, 22 appends


async def test_zero_coalescing_window_forwards_every_chunk(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(audio=AudioOptions(coalesce_ms=0, recordings_manual=False))
    pcm = speech_pcm("what_time_is_it")[:32000]
    reply = await transcribe(port, pcm)  # 100 ms chunks
    assert reply.text is not None
    assert _appends(emulator) == 10


async def test_48khz_stereo_chunks_are_converted_once_per_append(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(audio=LIVE_AUDIO)
    mono16 = speech_pcm("what_time_is_it")
    mono48, _ = audioop.ratecv(mono16, 2, 1, 16000, 48000, None)
    stereo48 = audioop.tostereo(mono48, 2, 1.0, 1.0)
    reply = await _stream_10ms_chunks(port, stereo48, rate=48000, channels=2)
    assert reply.text == "utterance 1 of 1.4 seconds"  # the scripted recognizer heard it all
    record = emulator.sessions[-1]
    assert abs(record.audio_bytes - len(mono16)) <= 8  # resampled back to 16 kHz mono
    assert _appends(emulator) <= -(-len(mono16) // 3200) + 1


async def test_a_streaming_client_is_not_timed_out_by_the_read_watchdog(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    """Each read may take at most 0.3 s; a request that streams for 1.5 s is fine."""
    port = await start_server(request_idle_seconds=0.3)
    pcm = speech_pcm("what_time_is_it")[: 32000 * 3 // 2]
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    try:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        await send_audio(client, pcm, pace=0.1)
        await client.write_event(AudioStop().event())
        reply = await read_reply(client)
        assert reply.error is None
        assert reply.text is not None
        # Idle between requests is allowed far longer than within one.
        await asyncio.sleep(0.5)
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        reply = await read_reply(client, timeout=5)  # then silent mid-request
    finally:
        await client.disconnect()
    assert reply.error is not None and reply.error.code == "timeout"


def test_coalescing_window_from_the_command_line_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert build_settings(parse_args([]), "k").audio == AudioOptions(coalesce_ms=100)
    assert build_settings(parse_args(["--coalesce-ms", "0"]), "k").audio.coalesce_ms == 0
    monkeypatch.setenv("QWEN_ASR_COALESCE_MS", "40")
    assert build_settings(parse_args(["transcribe", "x.wav"]), "k").audio.coalesce_ms == 40
