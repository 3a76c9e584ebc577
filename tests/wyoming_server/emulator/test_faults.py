"""Every switchable fault, toggled at runtime on the shared Faults object."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from wyoming_server.emulator import Behaviour, Faults

PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"
FAILED = "conversation.item.input_audio_transcription.failed"
SILENCE_1S = b"\x00" * 32000


async def test_event_delay(connect_client, emulator) -> None:
    emulator.faults.event_delay_seconds = 0.2
    started = time.monotonic()
    await connect_client()  # waits for session.created
    assert time.monotonic() - started >= 0.2


async def test_event_delay_applies_to_open_session(connect_client, emulator) -> None:
    client = await connect_client()
    emulator.faults.event_delay_seconds = 0.2
    started = time.monotonic()
    await client.update(sample_rate=16000)
    assert time.monotonic() - started >= 0.2


async def test_handshake_delay(emulator) -> None:
    emulator.faults.handshake_delay_seconds = 0.3
    started = time.monotonic()
    async with connect(
        emulator.url + "?model=qwen3-asr-flash-realtime",
        additional_headers={"Authorization": "Bearer test-key"},
    ) as ws:
        assert time.monotonic() - started >= 0.3
        await ws.recv()


async def test_completed_delay(connect_client, emulator, speech_pcm) -> None:
    emulator.behaviour = Behaviour.profile("documented")  # waits for item.created
    emulator.faults.completed_delay_seconds = 0.3
    client = await connect_client()
    await client.append(speech_pcm("what_time_is_it") + SILENCE_1S)
    events = await client.recv_until("conversation.item.created")
    started = time.monotonic()
    await client.recv_until(COMPLETED)
    assert time.monotonic() - started >= 0.25
    assert events


async def test_drop_after_audio(connect_client, emulator, speech_pcm) -> None:
    emulator.faults.drop_after_audio_ms = 500
    client = await connect_client()
    with pytest.raises(ConnectionClosed) as info:
        await client.append(speech_pcm("two_commands"))
        await client.recv()
    assert info.value.rcvd is None  # no close frame: the TCP connection was aborted
    record = emulator.sessions[0]
    assert record.dropped
    assert record.audio_bytes == 16000  # five 100 ms chunks


async def test_stall(connect_client, emulator) -> None:
    emulator.faults.stall = True
    client = await connect_client(read_created=False)
    await client.send("session.update", session={})
    with pytest.raises(TimeoutError):
        await client.recv(timeout=0.3)
    assert emulator.sessions[0].server_events == []
    assert emulator.sessions[0].client_types == ["session.update"]


@pytest.mark.parametrize("point", ["session.update", "session.finish"])
async def test_stall_on(connect_client, emulator, point) -> None:
    emulator.faults.stall_on = point
    client = await connect_client()
    if point == "session.finish":
        assert (await client.update(sample_rate=16000))["type"] == "session.updated"
    await client.send(point, session={})
    await client.send("session.finish")
    with pytest.raises(TimeoutError):
        await client.recv(timeout=0.3)


async def test_error_after_events(connect_client, emulator) -> None:
    emulator.behaviour = Behaviour.profile("documented")  # the socket stays open after it
    emulator.faults.error_after_events = 2
    client = await connect_client()  # event 1: session.created
    updated = await client.update(sample_rate=16000)  # event 2
    assert updated["type"] == "session.updated"
    error = await client.recv()
    assert error["type"] == "error"
    assert error["error"]["type"] == "server_error"
    assert error["error"]["code"] == "internal_error"
    # Only once per session; the socket stays open.
    assert (await client.update(sample_rate=16000))["type"] == "session.updated"


async def test_fail_item(connect_client, emulator, speech_pcm) -> None:
    emulator.faults.fail_item = 2
    client = await connect_client()
    await client.append(speech_pcm("two_commands") + SILENCE_1S)
    first = await client.recv_until(COMPLETED)
    second = await client.recv_until(FAILED)
    assert COMPLETED not in [e["type"] for e in second]
    assert second[-1]["item_id"] == second[0]["item_id"]
    assert second[-1]["error"]["code"]
    assert first


async def test_silence_only(connect_client, emulator, speech_pcm) -> None:
    emulator.faults.silence_only = True
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    assert [e["type"] for e in await client.finish()] == ["session.finished"]


async def test_duplicate_partials(connect_client, emulator, speech_pcm) -> None:
    emulator.faults.duplicate_partials = True
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    events = await client.recv_until(COMPLETED)
    partials = [(e["text"], e["stash"]) for e in events if e["type"] == PARTIAL]
    assert partials and partials[0::2] == partials[1::2]


async def test_reset_switches_everything_off() -> None:
    faults = Faults(stall=True, reject_status=403, event_delay_seconds=1.0)
    faults.reset()
    assert faults == Faults()


async def test_no_leaked_tasks_after_stop(emulator, connect_client) -> None:
    before = len(asyncio.all_tasks())
    for _ in range(3):
        client = await connect_client()
        await client.append(SILENCE_1S)
    await emulator.stop()
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) <= before
