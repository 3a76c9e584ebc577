"""Assist pipeline runs over HA's websocket API, with audio as a satellite streams it: 10 ms
binary frames (320 bytes of 16 kHz mono PCM16) at real time, prefixed by the handler id that
HA announces in the run-start event (``runner_data.stt_binary_handler_id``)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import wave
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hass_ws import HassWebSocket

SAMPLE_RATE = 16000
FRAME_BYTES = 320  # 10 ms
FRAME_S = 0.01
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
# Events that end the audio a satellite sends (HA stops listening after these).
_STOP_LISTENING = {"stt-vad-end", "stt-end", "error", "run-end"}


def speech_pcm(name: str = "turn_on_kitchen_lights") -> bytes:
    with wave.open(str(FIXTURES / f"{name}.wav"), "rb") as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (SAMPLE_RATE, 2, 1)
        return wav.readframes(wav.getnframes())


def speech_end_s(pcm: bytes, threshold_dbfs: float = -40.0) -> float:
    """Offset of the end of the last 10 ms frame louder than the threshold."""
    threshold = 32768 * 10 ** (threshold_dbfs / 20)
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    per_frame = FRAME_BYTES // 2
    last = 0
    for start in range(0, len(samples) - per_frame + 1, per_frame):
        frame = samples[start : start + per_frame]
        if math.sqrt(sum(x * x for x in frame) / per_frame) >= threshold:
            last = (start + per_frame) * 2
    return last / (2 * SAMPLE_RATE)


@dataclass
class AssistRun:
    """What one ``assist_pipeline/run`` produced, with monotonic times."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    started: float = 0.0  # first audio frame sent
    speech_end: float = 0.0  # when the frame that ends the speech was sent
    last_frame: float = 0.0  # last audio frame sent
    frames_sent: int = 0
    stream_ended: bool = False  # the empty frame that ends the audio was sent

    @property
    def types(self) -> list[str]:
        return [event["type"] for _, event in self.events]

    def first(self, event_type: str) -> tuple[float, dict[str, Any]]:
        for arrived, event in self.events:
            if event["type"] == event_type:
                return arrived, event
        raise AssertionError(f"no {event_type} event in {self.types}")

    def data(self, event_type: str) -> dict[str, Any]:
        return dict(self.first(event_type)[1].get("data") or {})

    @property
    def transcript(self) -> str:
        return str(self.data("stt-end")["stt_output"]["text"])

    def has(self, event_type: str) -> bool:
        return event_type in self.types


async def create_pipeline(ws: HassWebSocket, name: str, stt_engine: str) -> str:
    """An English pipeline with this speech-to-text engine and HA's own conversation agent."""
    pipeline = await ws.command(
        "assist_pipeline/pipeline/create",
        name=name,
        language="en",
        conversation_engine="conversation.home_assistant",
        conversation_language="en",
        stt_engine=stt_engine,
        stt_language="en",
        tts_engine=None,
        tts_language=None,
        tts_voice=None,
        wake_word_entity=None,
        wake_word_id=None,
    )
    return str(pipeline["id"])


async def run_pipeline(
    ws: HassWebSocket,
    pipeline_id: str,
    pcm: bytes,
    *,
    end_stage: str = "stt",
    trailing_silence_s: float = 3.0,
    end_stream: bool = False,
    timeout: float = 30.0,
) -> AssistRun:
    """Stream ``pcm`` then silence at real time until HA stops listening.

    ``end_stream=True`` sends the empty frame that ends the audio ``trailing_silence_s`` after
    the end of the speech, like a satellite with its own end-of-speech detection.
    """
    run = AssistRun()
    subscription = await ws.subscribe(
        "assist_pipeline/run",
        start_stage="stt",
        end_stage=end_stage,
        input={"sample_rate": SAMPLE_RATE},
        pipeline=pipeline_id,
        timeout=timeout,
    )
    arrived, event = await subscription.next_event()
    run.events.append((arrived, event))
    assert event["type"] == "run-start", event
    handler_id = int(event["data"]["runner_data"]["stt_binary_handler_id"])
    stop_listening = asyncio.Event()

    async def collect() -> None:
        while True:
            arrived, event = await subscription.next_event(timeout)
            run.events.append((arrived, event))
            if event["type"] in _STOP_LISTENING:
                stop_listening.set()
            if event["type"] == "run-end":
                return

    collector = asyncio.create_task(collect())
    try:
        await _stream(ws, handler_id, pcm, trailing_silence_s, end_stream, stop_listening, run)
        await asyncio.wait_for(collector, timeout)
    finally:
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await collector
    return run


async def _stream(
    ws: HassWebSocket,
    handler_id: int,
    pcm: bytes,
    trailing_silence_s: float,
    end_stream: bool,
    stop_listening: asyncio.Event,
    run: AssistRun,
) -> None:
    speech_frames = -(-len(pcm) // FRAME_BYTES)
    speech_end_frame = round(speech_end_s(pcm) / FRAME_S)
    trailing_frames = round(trailing_silence_s / FRAME_S)
    # A satellite that ends the audio itself does so a set time after the speech; one that
    # streams until HA stops listening sends the whole recording, then silence.
    total_frames = (
        speech_end_frame + trailing_frames if end_stream else speech_frames + trailing_frames
    )
    silence = bytes(FRAME_BYTES)
    run.started = time.monotonic()
    for index in range(total_frames):
        if stop_listening.is_set():
            return
        # Absolute schedule: real time without drift, as a microphone delivers audio.
        delay = run.started + index * FRAME_S - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = (
            pcm[index * FRAME_BYTES : (index + 1) * FRAME_BYTES] if index < speech_frames else b""
        )
        await ws.send_binary(handler_id, frame.ljust(FRAME_BYTES, b"\0") if frame else silence)
        run.last_frame = time.monotonic()
        run.frames_sent += 1
        if index + 1 == speech_end_frame:
            run.speech_end = run.last_frame
    if end_stream and not stop_listening.is_set():
        await ws.send_binary(handler_id, b"")  # an empty payload ends HA's audio stream
        run.stream_ended = True
