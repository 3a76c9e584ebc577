"""The official dashscope SDK (synchronous, threads) against the emulator."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from wyoming_server.emulator import Behaviour, ScriptedRecognizer

omni = pytest.importorskip("dashscope.audio.qwen_omni.omni_realtime")

MODEL = "qwen3-asr-flash-realtime"
COMPLETED = "conversation.item.input_audio_transcription.completed"


class _Collector(omni.OmniRealtimeCallback):  # type: ignore[misc]
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.opened = False

    def on_open(self) -> None:
        self.opened = True

    def on_event(self, message: Any) -> None:
        self.events.append(message)


def _run_sdk(url: str, pcm: bytes, *, vad: bool, with_params: bool) -> list[dict[str, Any]]:
    callback = _Collector()
    conversation = omni.OmniRealtimeConversation(
        model=MODEL, callback=callback, url=url, api_key="test-key"
    )
    conversation.connect()
    try:
        return _converse(conversation, callback, pcm, vad=vad, with_params=with_params)
    finally:
        conversation.close()


def _converse(
    conversation: Any, callback: _Collector, pcm: bytes, *, vad: bool, with_params: bool
) -> list[dict[str, Any]]:
    params = (
        omni.TranscriptionParams(language="en", sample_rate=16000, input_audio_format="pcm")
        if with_params
        else None
    )
    conversation.update_session(
        output_modalities=[omni.MultiModality.TEXT],
        enable_turn_detection=vad,
        turn_detection_threshold=0.0,
        turn_detection_silence_duration_ms=400,
        transcription_params=params,
    )
    for start in range(0, len(pcm), 3200):
        conversation.append_audio(base64.b64encode(pcm[start : start + 3200]).decode())
    if not vad:
        conversation.commit()
    conversation.end_session(timeout=10)
    assert callback.opened
    return callback.events


async def test_sdk_vad_session(emulator, speech_pcm) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["Stop the music.", "Open the garage door."])
    pcm = speech_pcm("two_commands")
    events = await asyncio.to_thread(_run_sdk, emulator.url, pcm, vad=True, with_params=True)
    types = [e["type"] for e in events]
    assert types[0] == "session.created"
    assert types[1] == "session.updated"
    assert types[-1] == "session.finished"
    transcripts = [e["transcript"] for e in events if e["type"] == COMPLETED]
    assert transcripts == ["Stop the music.", "Open the garage door."]
    record = emulator.sessions[0]
    assert record.auth_scheme == "Bearer"
    assert record.config.language == "en"
    assert record.config.turn_detection is not None
    assert record.config.turn_detection.silence_duration_ms == 400


async def test_sdk_manual_session_without_transcription_params(emulator, speech_pcm) -> None:
    """Without TranscriptionParams the SDK sends input_audio_format 'pcm16'."""
    emulator.behaviour = Behaviour.profile("documented")  # pcm16 accepted as pcm
    emulator.recognizer_factory = ScriptedRecognizer(["What time is it?"])
    pcm = speech_pcm("what_time_is_it")
    events = await asyncio.to_thread(_run_sdk, emulator.url, pcm, vad=False, with_params=False)
    types = [e["type"] for e in events]
    assert "error" not in types
    assert types[1] == "session.updated"
    assert events[1]["session"]["turn_detection"] is None
    assert [e["transcript"] for e in events if e["type"] == COMPLETED] == ["What time is it?"]
    assert types[-1] == "session.finished"
    assert emulator.sessions[0].client_types[-2:] == [
        "input_audio_buffer.commit",
        "session.finish",
    ]
