"""A connection observer sees the transport's start, every message both ways, and the end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from qwen_asr_realtime import QwenRealtimeClient, SessionConfig, Timeouts, VadConfig

from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.emulator.behaviour import Behaviour


class Observer:
    """Notes what it is told, in order (qwen_asr_realtime.connection.ConnectionObserver)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.close_code: int | None = None
        self.ended = asyncio.Event()

    def transport_ready(self) -> None:
        self.seen.append(("ready", ""))

    def message(self, direction: str, data: str | bytes) -> None:
        assert isinstance(data, str)
        self.seen.append((direction, json.loads(data)["type"]))

    def closed(self, code: int | None) -> None:
        self.close_code = code
        self.ended.set()


async def test_an_observer_sees_every_message_both_ways_and_the_service_closing(
    speech_pcm: Callable[..., bytes],
) -> None:
    behaviour = Behaviour(close_grace_seconds=0.05)
    recognizer = ScriptedRecognizer(["what time is it"])
    async with QwenEmulator(recognizer_factory=recognizer, behaviour=behaviour) as emulator:
        observer = Observer()
        client = QwenRealtimeClient(
            "test-key",
            SessionConfig(language="en", vad=VadConfig(silence_duration_ms=400)),
            endpoint=emulator.url,
            timeouts=Timeouts(connect=2.0, setup=2.0, finish=3.0, close=1.0),
            observer=observer,
        )
        try:
            await client.connect()
            await client.send_audio(speech_pcm("what_time_is_it"))
            assert await client.finish() and client.results.transcript == "what time is it"
            # The service closes on its own; the client has not closed yet.
            await asyncio.wait_for(observer.ended.wait(), 5)
        finally:
            await client.close()
    assert observer.seen[0] == ("ready", "")
    sent = [kind for direction, kind in observer.seen if direction == "sent"]
    received = [kind for direction, kind in observer.seen if direction == "received"]
    assert sent[0] == "session.update" and sent[-1] == "session.finish"
    assert "input_audio_buffer.append" in sent
    assert received[0] == "session.created" and received[-1] == "session.finished"
    assert "conversation.item.input_audio_transcription.completed" in received
    assert observer.close_code == 1000
