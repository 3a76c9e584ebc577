"""Session records and benchmark hooks."""

from __future__ import annotations

from wyoming_server.emulator import QwenEmulator


async def test_record_contents(connect_client, emulator, speech_pcm) -> None:
    client = await connect_client(scheme="bearer")
    await client.update(input_audio_transcription={"corpus": {"text": "garage, kitchen"}})
    pcm = speech_pcm("what_time_is_it")
    await client.append(pcm)
    await client.finish()
    record = emulator.sessions[0]
    assert record.auth_scheme == "bearer"
    assert record.model == "qwen3-asr-flash-realtime"
    assert record.audio_bytes == len(pcm)
    assert record.corpus_texts == ["garage, kitchen"]
    assert record.client_types[0] == "session.update"
    assert record.client_types[-1] == "session.finish"
    assert record.client_types.count("input_audio_buffer.append") == -(-len(pcm) // 3200)
    times = [t for t, _ in record.client_events]
    assert times == sorted(times)
    assert record.server_types[0] == "session.created"
    assert record.server_types[-1] == "session.finished"
    assert record.config.corpus_text == "garage, kitchen"


async def test_hooks_see_events_without_audio(speech_pcm) -> None:
    client_seen: list[dict] = []
    server_seen: list[str] = []
    async with QwenEmulator(
        on_client_event=lambda record, event, t: client_seen.append(event),
        on_server_event=lambda record, event, t: server_seen.append(event["type"]),
    ) as server:
        import base64  # noqa: PLC0415
        import json  # noqa: PLC0415

        from websockets.asyncio.client import connect  # noqa: PLC0415

        async with connect(
            server.url + "?model=qwen3-asr-flash-realtime",
            additional_headers={"Authorization": "Bearer test-key"},
        ) as ws:
            await ws.recv()
            audio = base64.b64encode(b"\x00" * 3200).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
            await ws.send(json.dumps({"type": "session.finish"}))
            while json.loads(await ws.recv())["type"] != "session.finished":
                pass
    assert client_seen == [
        {"type": "input_audio_buffer.append"},
        {"type": "session.finish"},
    ]
    assert server_seen == ["session.created", "session.finished"]
