"""Server VAD mode: real energy VAD on speech fixtures, partials, finish flushing."""

from __future__ import annotations

import pytest

from wyoming_server.emulator import Behaviour, ScriptedRecognizer

STARTED = "input_audio_buffer.speech_started"
STOPPED = "input_audio_buffer.speech_stopped"
COMMITTED = "input_audio_buffer.committed"
CREATED = "conversation.item.created"
PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"
FINISHED = "session.finished"

SILENCE_1S = b"\x00" * 32000


def _without_partials(events):
    return [e["type"] for e in events if e["type"] != PARTIAL]


@pytest.mark.parametrize("threshold", [0.2, 0.0])
async def test_two_utterances_in_one_session(
    connect_client, emulator, speech_pcm, threshold
) -> None:
    emulator.behaviour = Behaviour.profile("documented")  # the documented event order
    emulator.recognizer_factory = ScriptedRecognizer(["Stop the music.", "Open the garage door."])
    client = await connect_client()
    await client.update(
        turn_detection={"type": "server_vad", "threshold": threshold, "silence_duration_ms": 800}
    )
    await client.append(speech_pcm("two_commands"))
    await client.append(SILENCE_1S)  # let the VAD see the end of the second command
    first = await client.recv_until(COMPLETED)
    second = await client.recv_until(COMPLETED)
    for events in (first, second):
        assert _without_partials(events) == [STARTED, STOPPED, COMMITTED, CREATED, COMPLETED]
        item_ids = {e.get("item_id") or e.get("item", {}).get("id") for e in events}
        assert len(item_ids) == 1
    # Known layout of two_commands.wav: 0.3 s silence, "stop the music" (1.48 s incl. espeak's
    # own trailing pause), 1.5 s silence, "open the garage door" from 3.285 s, 0.5 s silence.
    start1 = first[0]["audio_start_ms"]
    assert 280 <= start1 <= 420
    stopped1 = next(e for e in first if e["type"] == STOPPED)["audio_end_ms"]
    assert 1300 <= stopped1 <= 1785
    assert 3260 <= second[0]["audio_start_ms"] <= 3420
    stopped2 = next(e for e in second if e["type"] == STOPPED)["audio_end_ms"]
    assert 4500 <= stopped2 <= 5001
    committed1 = next(e for e in first if e["type"] == COMMITTED)
    committed2 = next(e for e in second if e["type"] == COMMITTED)
    assert committed1["previous_item_id"] is None
    assert committed2["previous_item_id"] == committed1["item_id"]
    assert first[-1]["transcript"] == "Stop the music."
    assert second[-1]["transcript"] == "Open the garage door."
    assert first[-1]["language"] == "en" and first[-1]["emotion"] == "neutral"
    assert second[-1]["item_id"].startswith("item_") and len(second[-1]["item_id"]) == 26
    assert [e["type"] for e in await client.finish()] == [FINISHED]


async def test_partials_are_growing_snapshots(connect_client, emulator, speech_pcm) -> None:
    emulator.behaviour = Behaviour.profile("documented")  # text + stash, never revised
    emulator.recognizer_factory = ScriptedRecognizer(["turn on the kitchen lights"])
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    events = await client.recv_until(COMPLETED)
    partials = [e for e in events if e["type"] == PARTIAL]
    assert len(partials) >= 3
    # Partials arrive while speaking, i.e. before speech_stopped.
    assert events.index(partials[0]) < _index(events, STOPPED)
    previous_text = ""
    for event in partials:
        assert event["item_id"] == events[0]["item_id"]
        assert event["content_index"] == 0
        assert event["text"].startswith(previous_text)  # the stable prefix only grows
        previous_text = event["text"]
        assert "turn on the kitchen lights".startswith(event["text"] + event["stash"])
    assert partials[-1]["text"] == "turn on the kitchen lights"
    assert partials[-1]["stash"] == ""
    assert partials[0]["text"] == ""  # the first words are still tentative


def _index(events, kind):
    return next(i for i, e in enumerate(events) if e["type"] == kind)


async def test_language_echoes_request(connect_client, speech_pcm) -> None:
    client = await connect_client()
    await client.update(input_audio_transcription={"language": "fr"})
    await client.append(speech_pcm("what_time_is_it") + SILENCE_1S)
    events = await client.recv_until(COMPLETED)
    assert {e["language"] for e in events if e["type"] in (PARTIAL, COMPLETED)} == {"fr"}
    assert events[-1]["transcript"].startswith("utterance 1 of ")


async def test_8khz_audio(connect_client, speech_pcm) -> None:
    client = await connect_client()
    await client.update(sample_rate=8000)
    await client.append(speech_pcm("two_commands", rate=8000) + SILENCE_1S[:16000], 1600)
    first = await client.recv_until(COMPLETED)
    second = await client.recv_until(COMPLETED)
    assert 280 <= first[0]["audio_start_ms"] <= 420
    assert 3260 <= second[0]["audio_start_ms"] <= 3420


async def test_finish_flushes_open_utterance(connect_client, emulator, speech_pcm) -> None:
    emulator.behaviour = Behaviour.profile("documented")  # the documented event order
    client = await connect_client()
    pcm = speech_pcm("turn_on_kitchen_lights")
    await client.append(pcm[: 16000 * 2 * 2])  # 2 s: speech is still going on
    events = await client.finish()
    assert _without_partials(events) == [
        STARTED, STOPPED, COMMITTED, CREATED, COMPLETED, FINISHED,
    ]  # fmt: skip
    assert events[_index(events, STOPPED)]["audio_end_ms"] <= 2000


async def test_finish_without_speech_only_finished(connect_client) -> None:
    client = await connect_client()
    await client.append(SILENCE_1S * 2)
    assert [e["type"] for e in await client.finish()] == [FINISHED]


async def test_no_second_finished_and_audio_after_finish_ignored(
    connect_client, emulator, speech_pcm
) -> None:
    emulator.behaviour = Behaviour(close_grace_seconds=None)
    client = await connect_client()
    await client.finish()
    await client.append(speech_pcm("what_time_is_it") + SILENCE_1S)
    await client.send("session.finish")
    await client.send("session.update", session={})
    with pytest.raises(TimeoutError):
        await client.recv(timeout=0.3)
    assert emulator.sessions[0].server_types.count(FINISHED) == 1


async def test_server_closes_after_grace(connect_client, emulator) -> None:
    emulator.behaviour = Behaviour(close_grace_seconds=0.1)
    client = await connect_client()
    await client.finish()
    await client.ws.wait_closed()
    assert client.ws.close_code == 1000


async def test_quiet_noise_is_not_speech(connect_client) -> None:
    """Low-level noise (about -60 dBFS) stays below the default threshold."""
    import random  # noqa: PLC0415

    rng = random.Random(7)
    noise = b"".join(rng.randint(-40, 40).to_bytes(2, "little", signed=True) for _ in range(48000))
    client = await connect_client()
    await client.append(noise)
    assert [e["type"] for e in await client.finish()] == [FINISHED]


async def test_stash_only_style(connect_client, emulator, speech_pcm) -> None:
    emulator.behaviour = Behaviour(partial_style="stash-only")
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    client = await connect_client()
    await client.append(speech_pcm("what_time_is_it") + SILENCE_1S)
    events = await client.recv_until(COMPLETED)
    partials = [e for e in events if e["type"] == PARTIAL]
    assert partials and all(e["text"] == "" for e in partials)
    assert partials[-1]["stash"] == "what time is it"
