"""Real offline recognition of the espeak fixtures through the emulator."""

from __future__ import annotations

import pytest

pytest.importorskip("pocketsphinx")

from wyoming_server.emulator import PocketSphinxRecognizer

COMPLETED = "conversation.item.input_audio_transcription.completed"
SILENCE_1S = b"\x00" * 32000

EXPECTED = {
    "turn_on_kitchen_lights": ["turn on the kitchen lights"],
    "what_time_is_it": ["what time is it"],
    "set_temperature": ["set the kitchen temperature to twenty one degrees"],
    "two_commands": ["stop the music", "open the garage door"],
}


@pytest.fixture(scope="module")
def sphinx() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_fixture_recognized_exactly(
    connect_client, emulator, speech_pcm, sphinx, name, rate
) -> None:
    emulator.recognizer_factory = sphinx
    client = await connect_client()
    await client.update(
        sample_rate=rate,
        turn_detection={"type": "server_vad", "threshold": 0.0, "silence_duration_ms": 400},
    )
    silence = SILENCE_1S[: rate * 2]
    await client.append(speech_pcm(name, rate=rate) + silence, chunk_bytes=rate // 5)
    events = await client.finish()
    transcripts = [e["transcript"] for e in events if e["type"] == COMPLETED]
    assert transcripts == EXPECTED[name]


async def test_manual_mode_recognition(connect_client, emulator, speech_pcm, sphinx) -> None:
    emulator.recognizer_factory = sphinx
    client = await connect_client()
    await client.update(turn_detection=None)
    await client.append(speech_pcm("what_time_is_it"))
    await client.send("input_audio_buffer.commit")
    events = await client.finish()
    assert [e["transcript"] for e in events if e["type"] == COMPLETED] == ["what time is it"]
