"""A whole recording sent at once (a file, a buffered satellite) is answered at once.

The server's client sends such a request in manual mode, committed at its silences; with
Qwen's endpointing it is answered with the whole transcript, not at the first utterance."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from wyoming.asr import Transcribe
from wyoming.audio import AudioStart
from wyoming.client import AsyncTcpClient

from tests.support.server_helpers import HOST, read_reply, send_audio, settings_for, transcribe
from wyoming_server.demo import transcribe_over_wyoming
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.settings import Endpointing
from wyoming_server.transcribe import transcribe_file
from wyoming_server.wav import read_wav

COMMIT = "input_audio_buffer.commit"
TWO = ["stop the music", "open the garage door"]


async def test_a_recording_sent_at_once_goes_manual_with_one_commit_per_command(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(TWO)
    reply = await transcribe(port, speech_pcm("two_commands"))  # 100 ms chunks, no pacing
    assert reply.text == "stop the music open the garage door"
    record = emulator.sessions[-1]
    assert record.config.turn_detection is None
    assert record.client_types.count(COMMIT) == 2


async def test_qwen_endpointing_answers_a_recording_with_all_of_it(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(endpointing=Endpointing.QWEN)
    emulator.recognizer_factory = ScriptedRecognizer(TWO)
    reply = await transcribe(port, speech_pcm("two_commands"))
    assert reply.text == "stop the music open the garage door"  # not just the first
    assert emulator.sessions[-1].config.turn_detection is None


async def test_a_live_request_keeps_qwen_endpointing(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(endpointing=Endpointing.QWEN)
    emulator.recognizer_factory = ScriptedRecognizer(TWO)
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        sender = asyncio.create_task(send_audio(client, speech_pcm("two_commands"), pace=0.02))
        reply = await read_reply(client)
        sender.cancel()
    assert reply.text == "stop the music"  # Qwen's VAD ended the first utterance
    assert emulator.sessions[-1].config.turn_detection is not None


async def test_transcribe_fast_splits_a_two_command_file(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(TWO)
    path = fixture_path("two_commands.wav")
    text = await transcribe_file(settings_for(emulator), path, realtime=False)
    assert text == "stop the music open the garage door"
    record = emulator.sessions[-1]
    assert record.config.turn_detection is None
    assert record.client_types.count(COMMIT) == 2


async def test_demo_fast_sends_a_recording(
    port: int, emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(TWO)
    audio = read_wav(fixture_path("two_commands.wav"))
    result = await transcribe_over_wyoming(HOST, port, audio, language="en", realtime=False)
    assert result.text == "stop the music open the garage door"
    assert emulator.sessions[-1].config.turn_detection is None
