"""Manual mode (turn_detection null): commit, errors, finish handling."""

from __future__ import annotations

import time

from wyoming_server.emulator import Behaviour, ScriptedRecognizer

COMMITTED = "input_audio_buffer.committed"
CREATED = "conversation.item.created"
PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"
FAILED = "conversation.item.input_audio_transcription.failed"
FINISHED = "session.finished"


async def _manual(connect_client):
    client = await connect_client()
    updated = await client.update(turn_detection=None)
    assert updated["session"]["turn_detection"] is None
    return client


def _types(events):
    return [e["type"] for e in events if e["type"] != PARTIAL]


async def test_commit_then_finish(connect_client, emulator, speech_pcm) -> None:
    script = ["what time is it", "turn on the kitchen lights"]
    emulator.recognizer_factory = ScriptedRecognizer(script)
    client = await _manual(connect_client)
    await client.append(speech_pcm("what_time_is_it"))
    await client.send("input_audio_buffer.commit")
    await client.append(speech_pcm("turn_on_kitchen_lights"))
    await client.send("input_audio_buffer.commit")
    events = await client.finish()
    assert _types(events) == [
        COMMITTED, CREATED, COMPLETED, COMMITTED, CREATED, COMPLETED, FINISHED,
    ]  # fmt: skip
    assert "input_audio_buffer.speech_started" not in emulator.sessions[0].server_types
    committed = [e for e in events if e["type"] == COMMITTED]
    assert committed[0]["previous_item_id"] is None
    assert committed[1]["previous_item_id"] == committed[0]["item_id"]
    transcripts = [e["transcript"] for e in events if e["type"] == COMPLETED]
    assert transcripts == script
    partials = [e for e in events if e["type"] == PARTIAL]
    assert partials and partials[0]["item_id"] == committed[0]["item_id"]


async def test_empty_commit_is_an_error(connect_client) -> None:
    client = await _manual(connect_client)
    await client.send("input_audio_buffer.commit")
    error = await client.recv()
    assert error["error"]["code"] == "input_audio_buffer_commit_empty"
    assert error["error"]["event_id"] == "event_test"


async def test_commit_in_vad_mode(connect_client, emulator) -> None:
    client = await connect_client()
    await client.append(b"\x00" * 3200)
    await client.send("input_audio_buffer.commit")
    error = await client.recv()
    assert error["type"] == "error"
    assert error["error"]["code"] == "input_audio_buffer_commit_disabled"


async def test_commit_in_vad_mode_ignored_when_configured(connect_client, emulator) -> None:
    emulator.behaviour = Behaviour(commit_in_vad="ignore")
    client = await connect_client()
    await client.append(b"\x00" * 3200)
    await client.send("input_audio_buffer.commit")
    assert _types(await client.finish()) == [FINISHED]


async def test_finish_commits_uncommitted_audio(connect_client, speech_pcm) -> None:
    client = await _manual(connect_client)
    await client.append(speech_pcm("what_time_is_it"))
    events = await client.finish()
    assert _types(events) == [COMMITTED, CREATED, COMPLETED, FINISHED]
    assert events[-2]["transcript"] == "utterance 1 of 2.1 seconds"


async def test_finish_drops_uncommitted_audio_when_configured(
    connect_client, emulator, speech_pcm
) -> None:
    emulator.behaviour = Behaviour(finish_uncommitted="drop", manual_item_created=False)
    client = await _manual(connect_client)
    await client.append(speech_pcm("what_time_is_it"))
    await client.send("input_audio_buffer.commit")
    await client.append(speech_pcm("what_time_is_it"))
    assert _types(await client.finish()) == [COMMITTED, COMPLETED, FINISHED]


async def test_more_than_60_seconds_before_commit(connect_client, emulator) -> None:
    client = await _manual(connect_client)
    await client.append(b"\x00" * (61 * 32000), chunk_bytes=32000 * 10)
    await client.send("input_audio_buffer.commit")
    error = await client.recv()
    assert error["error"]["code"] == "input_audio_buffer_too_long"
    emulator.behaviour = Behaviour(manual_overflow="failed")
    client = await _manual(connect_client)
    await client.append(b"\x00" * (61 * 32000), chunk_bytes=32000 * 10)
    await client.send("input_audio_buffer.commit")
    events = await client.recv_until(FAILED)
    assert _types(events) == [COMMITTED, CREATED, FAILED]


async def test_partials_before_commit_when_configured(connect_client, emulator, speech_pcm) -> None:
    emulator.behaviour = Behaviour(manual_partials_before_commit=True)
    emulator.recognizer_factory = ScriptedRecognizer(["turn on the kitchen lights"])
    client = await _manual(connect_client)
    await client.append(speech_pcm("turn_on_kitchen_lights"))
    first = await client.recv()
    assert first["type"] == PARTIAL
    await client.send("input_audio_buffer.commit")
    events = await client.recv_until(COMPLETED)
    assert events[-1]["item_id"] == first["item_id"]
    assert events[-1]["transcript"] == "turn on the kitchen lights"


async def test_finalize_delay_is_per_item_not_serial(connect_client, emulator, speech_pcm) -> None:
    """Two items committed together are final together, each ``finalize_delay_ms`` after
    its commit (a service finalizing in parallel), not one delay after the other."""
    emulator.behaviour = Behaviour(finalize_delay_ms=1000)
    client = await _manual(connect_client)
    for _ in range(2):
        await client.append(speech_pcm("what_time_is_it"))
        await client.send("input_audio_buffer.commit")
    committed_at = time.monotonic()
    await client.recv_until(COMPLETED)
    first_at = time.monotonic()
    await client.recv_until(COMPLETED)
    assert first_at - committed_at >= 0.9
    assert time.monotonic() - first_at < 0.9  # not a second delay after the first
