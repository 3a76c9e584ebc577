"""Live TranscriptChunks from Qwen's revising partials, while the person still speaks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStop
from wyoming.audio import AudioStop

from tests.support.server_helpers import LIVE_AUDIO, StartServer, open_request, send_audio
from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer
from wyoming_server.emulator.behaviour import PROFILES

SCRIPT = "turn on the kitchen lights"
# 1.2 s of turn_on_kitchen_lights.wav: 0.3 s of silence, then 0.9 s of the command (which
# goes on until about 1.8 s).
SPEAKING_BYTES = 16000 * 2 * 12 // 10


@pytest.mark.parametrize("profile", PROFILES)
async def test_words_that_stopped_changing_are_sent_before_the_speech_ends(
    start_server: StartServer,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    profile: str,
) -> None:
    emulator.behaviour = Behaviour.profile(profile)  # type: ignore[arg-type]
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])
    port = await start_server(audio=LIVE_AUDIO)
    pcm = speech_pcm("turn_on_kitchen_lights")
    client = await open_request(port)
    try:
        await send_audio(client, pcm[:SPEAKING_BYTES], chunk_ms=10)
        # No AudioStop, no end of speech yet: the first live text must come anyway.
        async with asyncio.timeout(10):
            while (event := await client.read_event()) is not None:
                if TranscriptChunk.is_type(event.type):
                    break
        assert event is not None
        first = TranscriptChunk.from_event(event).text
        assert first.strip() and SCRIPT.startswith(first.strip())
        assert not emulator.sessions[0].transcripts, "sent before the utterance was final"
        await send_audio(client, pcm[SPEAKING_BYTES:], chunk_ms=10)
        await client.write_event(AudioStop().event())
        chunks, transcript = [first], None
        async with asyncio.timeout(10):
            while (event := await client.read_event()) is not None:
                if TranscriptChunk.is_type(event.type):
                    chunks.append(TranscriptChunk.from_event(event).text)
                elif Transcript.is_type(event.type):
                    transcript = Transcript.from_event(event).text
                elif TranscriptStop.is_type(event.type):
                    break
    finally:
        await client.disconnect()
    assert transcript == SCRIPT
    # Append-only and never contradicted: the chunks spell exactly the final transcript.
    assert "".join(chunks).strip() == SCRIPT


async def test_revised_words_are_never_sent(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """The observed profile shows "the" as "thes" once "kitchen" follows it, and new words
    as fragments ("kitc"): the service sent both, and no chunk carries either."""
    emulator.behaviour = Behaviour.profile("observed")
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])
    stashes: list[str] = []
    emulator.on_server_event = lambda _record, payload, _at: stashes.append(
        payload.get("stash", "")
    )
    port = await start_server(audio=LIVE_AUDIO)
    client = await open_request(port)
    try:
        await send_audio(client, speech_pcm("turn_on_kitchen_lights"), chunk_ms=10)
        await client.write_event(AudioStop().event())
        chunks: list[str] = []
        async with asyncio.timeout(10):
            while (event := await client.read_event()) is not None:
                if TranscriptChunk.is_type(event.type):
                    chunks.append(TranscriptChunk.from_event(event).text)
                elif TranscriptStop.is_type(event.type):
                    break
    finally:
        await client.disconnect()
    assert any("thes kitc" in stash for stash in stashes)
    assert len(chunks) >= 2
    assert "".join(chunks).strip() == SCRIPT
