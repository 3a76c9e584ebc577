"""session.created / session.update / session.updated and protocol-level error events."""

from __future__ import annotations

import base64
import json

import pytest
from qwen_asr_realtime.const import MAX_APPEND_BASE64_BYTES

from wyoming_server.emulator import Behaviour

APPEND = "input_audio_buffer.append"


async def test_session_created_defaults(connect_client, emulator) -> None:
    client = await connect_client(read_created=False)
    created = await client.recv()
    assert created["type"] == "session.created"
    assert created["event_id"].startswith("event_") and len(created["event_id"]) == 27
    session = created["session"]
    assert session["id"].startswith("sess_")
    assert session["id"] == emulator.sessions[0].session_id
    assert session["object"] == "realtime.session"
    assert session["model"] == "qwen3-asr-flash-realtime"
    assert session["modalities"] == ["text"]
    assert session["input_audio_format"] == "pcm"
    assert session["input_audio_transcription"] is None
    assert session["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.2,
        "silence_duration_ms": 800,
    }


async def test_session_updated_echoes_merged_config(connect_client, emulator) -> None:
    client = await connect_client()
    updated = await client.update(
        input_audio_format="pcm",
        sample_rate=8000,
        input_audio_transcription={"language": "de", "corpus": {"text": "Kubernetes, Istio"}},
        turn_detection={"type": "server_vad", "threshold": 0.0, "silence_duration_ms": 400},
    )
    assert updated["type"] == "session.updated"
    session = updated["session"]
    assert session["sample_rate"] == 8000
    assert session["input_audio_transcription"] == {
        "language": "de",
        "corpus": {"text": "Kubernetes, Istio"},
    }
    assert session["turn_detection"]["threshold"] == 0.0
    assert session["turn_detection"]["silence_duration_ms"] == 400
    # A later partial update keeps what it does not mention.
    updated = await client.update(turn_detection=None)
    assert updated["session"]["turn_detection"] is None
    assert updated["session"]["sample_rate"] == 8000
    assert updated["session"]["input_audio_transcription"]["language"] == "de"
    record = emulator.sessions[0]
    assert record.config.manual
    assert record.corpus_texts[0] == "Kubernetes, Istio"


async def test_sdk_shaped_update_is_accepted(connect_client, emulator) -> None:
    """What dashscope's update_session() sends without TranscriptionParams."""
    emulator.behaviour = Behaviour.profile("documented")  # pcm16 accepted as pcm
    client = await connect_client()
    updated = await client.update(
        modalities=["text"],
        voice=None,
        input_audio_format="pcm16",
        output_audio_format="pcm16",
        input_audio_transcription={"model": None},
        turn_detection={
            "type": "server_vad",
            "threshold": 0.2,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 800,
        },
        language="en",  # misplaced field of old SDKs: ignored
    )
    assert updated["type"] == "session.updated"
    assert updated["session"]["input_audio_format"] == "pcm"
    assert updated["session"]["input_audio_transcription"] == {}


async def test_pcm16_rejected_when_configured(connect_client, emulator) -> None:
    emulator.behaviour = Behaviour(accept_pcm16=False)
    client = await connect_client()
    error = await client.update(input_audio_format="pcm16")
    assert error["error"] == {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "Invalid value: 'pcm16'. Supported values are: 'pcm', 'opus'.",
        "param": "session.input_audio_format",
        "event_id": "event_test",
    }


TD = "session.turn_detection"
TR = "session.input_audio_transcription"


def _vad(**fields: object) -> dict[str, object]:
    return {"turn_detection": {"type": "server_vad", **fields}}


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"input_audio_format": "mp3"}, "session.input_audio_format"),
        ({"sample_rate": 44100}, "session.sample_rate"),
        ({"input_audio_transcription": {"language": "auto"}}, f"{TR}.language"),
        ({"input_audio_transcription": {"language": "xx"}}, f"{TR}.language"),
        ({"input_audio_transcription": {"corpus": {"text": "x" * 10_001}}}, f"{TR}.corpus.text"),
        ({"turn_detection": {"type": "semantic_vad"}}, f"{TD}.type"),
        ({"turn_detection": {"threshold": 0.2}}, f"{TD}.type"),
        (_vad(threshold=1.5), f"{TD}.threshold"),
        (_vad(threshold="high"), f"{TD}.threshold"),
        (_vad(silence_duration_ms=100), f"{TD}.silence_duration_ms"),
        (_vad(silence_duration_ms=7000), f"{TD}.silence_duration_ms"),
    ],
)
async def test_invalid_update_gives_error_with_param(connect_client, session, param) -> None:
    client = await connect_client()
    error = await client.update(**session)
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == param
    assert error["error"]["event_id"] == "event_test"
    # The old configuration is kept and the socket stays usable.
    updated = await client.update(sample_rate=16000)
    assert updated["type"] == "session.updated"
    assert updated["session"]["turn_detection"]["threshold"] == 0.2


async def test_update_without_session_object(connect_client) -> None:
    client = await connect_client()
    await client.send("session.update")
    error = await client.recv()
    assert error["error"]["code"] == "missing_required_parameter"
    assert error["error"]["param"] == "session"


async def test_update_after_audio_rejected_when_configured(connect_client, emulator) -> None:
    emulator.behaviour = Behaviour(update_after_audio="reject")
    client = await connect_client()
    await client.append(b"\x00" * 3200)
    error = await client.update(sample_rate=8000)
    assert error["type"] == "error"


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ("not json", "invalid_json", None),
        ("[1, 2]", "invalid_json", None),
        (json.dumps({"type": "response.create"}), "invalid_event", "type"),
        (json.dumps({"event_id": "e1"}), "missing_required_parameter", "type"),
        (json.dumps({"type": APPEND}), "missing_required_parameter", "audio"),
        (json.dumps({"type": APPEND, "audio": "@@@"}), "invalid_value", "audio"),
        (b"\x00\x01", "invalid_message", None),
    ],
)  # fmt: skip
async def test_bad_client_events_give_errors_and_keep_socket(
    connect_client, message, code, param
) -> None:
    client = await connect_client()
    await client.send_raw(message)
    error = await client.recv()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["code"] == code
    assert error["error"]["param"] == param
    assert (await client.update(sample_rate=16000))["type"] == "session.updated"


async def test_oversize_audio_field(connect_client, emulator) -> None:
    client = await connect_client()
    too_big = "A" * (MAX_APPEND_BASE64_BYTES + 4)
    await client.send("input_audio_buffer.append", audio=too_big)
    error = await client.recv()
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == "audio"
    # Exactly at the limit is fine (no reply for append).
    at_limit = base64.b64encode(b"\x00" * (MAX_APPEND_BASE64_BYTES // 4 * 3)).decode()
    assert len(at_limit) <= MAX_APPEND_BASE64_BYTES
    await client.send("input_audio_buffer.append", audio=at_limit)
    assert (await client.update(sample_rate=16000))["type"] == "session.updated"
    assert emulator.sessions[0].audio_bytes == MAX_APPEND_BASE64_BYTES // 4 * 3
