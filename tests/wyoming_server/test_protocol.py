"""Black-box Wyoming protocol tests: the wyoming library's client against the server."""

from __future__ import annotations

import asyncio
import audioop
from collections.abc import Callable

from qwen_asr_realtime.const import LANGUAGES
from wyoming.asr import Transcribe
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from tests.support.server_helpers import (
    HOST,
    StartServer,
    assert_result_order,
    read_reply,
    send_audio,
    transcribe,
    wait_sessions_closed,
)
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.settings import Endpointing


async def test_describe_reports_one_streaming_asr_program(port: int) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
    assert event is not None and Info.is_type(event.type)
    info = Info.from_event(event)
    assert len(info.asr) == 1
    program = info.asr[0]
    assert program.attribution.name == "Alibaba Cloud"
    assert program.version
    assert program.supports_transcript_streaming is True
    assert program.requires_external_vad is True
    assert sorted(program.models[0].languages) == sorted(LANGUAGES)
    assert len(program.models[0].languages) == 27


async def test_server_endpointing_does_not_require_external_vad(start_server) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(endpointing=Endpointing.QWEN)
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
    assert event is not None
    assert Info.from_event(event).asr[0].requires_external_vad is False


async def test_transcript_with_streaming_events(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["turn on the kitchen lights"])
    reply = await transcribe(port, speech_pcm("turn_on_kitchen_lights"), language="en-US")
    assert reply.text == "turn on the kitchen lights"
    assert_result_order(reply)
    assert reply.chunks, "partials are streamed as TranscriptChunk"
    assert "".join(reply.chunks).strip() == "turn on the kitchen lights"
    assert reply.transcript.language == "en"
    # en-US was mapped to Qwen's code; the session was configured with it.
    assert emulator.sessions[0].config.language == "en"
    await wait_sessions_closed(emulator)


async def test_unknown_language_means_automatic(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    reply = await transcribe(port, speech_pcm("what_time_is_it"), language="xx-YY")
    assert reply.text is not None
    assert emulator.sessions[0].config.language is None


async def test_48khz_stereo_is_converted_to_16khz_mono(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    mono16 = speech_pcm("what_time_is_it")
    mono48, _ = audioop.ratecv(mono16, 2, 1, 16000, 48000, None)
    stereo48 = audioop.tostereo(mono48, 2, 1.0, 1.0)
    reply = await transcribe(port, stereo48, rate=48000, channels=2)
    assert reply.text == "what time is it"
    sent = emulator.sessions[0].audio_bytes
    assert abs(sent - len(mono16)) < 0.02 * len(mono16), "16 kHz mono reached Qwen"


async def test_context_from_file_and_transcribe_names(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(context="Kitchen\nLiving room")
    request = Transcribe(
        language="en", transcript_names=["Hue Go", "Kitchen"], transcript_terms=["thermostat"]
    )
    reply = await transcribe(port, speech_pcm("what_time_is_it"), transcribe_event=request)
    assert reply.text is not None
    corpus = emulator.sessions[0].config.corpus_text or ""
    for word in ("Kitchen", "Living room", "Hue Go", "thermostat"):
        assert word in corpus
    assert corpus.index("Hue Go") < corpus.index("thermostat")


async def test_stop_without_audio_gives_empty_transcript(port: int, emulator: QwenEmulator) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        await client.write_event(AudioStop().event())
        reply = await read_reply(client)
    assert reply.text == ""
    assert_result_order(reply)
    await wait_sessions_closed(emulator)


async def test_connection_opens_at_first_audio_and_audio_is_held(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.faults.handshake_delay_seconds = 0.5
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.text == "what time is it"
    record = emulator.sessions[0]
    assert record.audio_bytes == len(speech_pcm("what_time_is_it"))


async def test_audio_start_without_transcribe(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(AudioStart(16000, 2, 1).event())
        await send_audio(client, speech_pcm("what_time_is_it"))
        await client.write_event(AudioStop().event())
        reply = await read_reply(client)
    assert reply.text
    assert emulator.sessions[0].config.language is None


async def test_several_requests_on_one_connection(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["first"])
    pcm = speech_pcm("what_time_is_it")
    async with AsyncTcpClient(HOST, port) as client:
        for _ in range(2):
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(16000, 2, 1).event())
            await send_audio(client, pcm)
            await client.write_event(AudioStop().event())
            assert (await read_reply(client)).text == "first"
    assert len(emulator.sessions) == 2


async def test_server_endpointing_answers_at_first_utterance(
    start_server, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:  # type: ignore[no-untyped-def]
    port = await start_server(endpointing=Endpointing.QWEN)
    emulator.recognizer_factory = ScriptedRecognizer(["turn on the bedroom fan", "second"])
    pcm = speech_pcm("two_commands")
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        # Paced faster than real time but slowly enough to see the early answer.
        sender = asyncio.create_task(send_audio(client, pcm, pace=0.02))
        reply = await read_reply(client)
        await sender
        await client.write_event(AudioStop().event())  # ignored: the request was answered
        assert reply.text == "turn on the bedroom fan"
        assert_result_order(reply)
        # The connection stays usable for the next request.
        await client.write_event(Describe().event())
        event = await asyncio.wait_for(client.read_event(), 5)
        assert event is not None and Info.is_type(event.type)
    await wait_sessions_closed(emulator)
    assert "session.finish" not in emulator.sessions[0].client_types


async def test_twenty_concurrent_transcriptions(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    port = await start_server(max_sessions=20, max_sessions_per_client=20)
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    pcm = speech_pcm("what_time_is_it")
    replies = await asyncio.gather(*(transcribe(port, pcm, timeout=30) for _ in range(20)))
    assert [r.text for r in replies] == ["what time is it"] * 20
    assert len(emulator.sessions) == 20
    await wait_sessions_closed(emulator)
