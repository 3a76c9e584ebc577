"""Unit tests of configuration, endpoints, languages and event parsing."""

from __future__ import annotations

import pytest
from qwen_asr_realtime import (
    ConfigError,
    Final,
    InsecureEndpointError,
    Partial,
    ProtocolError,
    QwenRealtimeClient,
    SessionConfig,
    VadConfig,
    is_loopback_host,
    join_transcripts,
    normalize_language,
    parse_event,
    require_encryption,
    resolve_endpoint,
    trim_context,
)
from qwen_asr_realtime.const import LANGUAGES, REGION_URLS


def test_regions_resolve_to_documented_endpoints() -> None:
    assert resolve_endpoint("intl") == "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime"
    assert resolve_endpoint("cn") == "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"
    assert set(REGION_URLS) == {"intl", "cn"}


def test_custom_endpoint_bare_host_gets_standard_path() -> None:
    assert (
        resolve_endpoint("wss://ws1.ap-southeast-1.maas.aliyuncs.com")
        == "wss://ws1.ap-southeast-1.maas.aliyuncs.com/api-ws/v1/realtime"
    )
    assert resolve_endpoint("ws://127.0.0.1:9/api-ws/v1/realtime") == (
        "ws://127.0.0.1:9/api-ws/v1/realtime"
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://dashscope.aliyuncs.com/api-ws/v1/realtime",
        "wss://host/api-ws/v1/realtime?model=x",
        "wss://user:secret@host/api-ws/v1/realtime",
        "europe",
        "wss://",
    ],
)
def test_bad_endpoints_are_rejected(endpoint: str) -> None:
    with pytest.raises(ConfigError):
        resolve_endpoint(endpoint)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "[::1]", "localhost", "LOCALHOST.", "[::ffff:127.0.0.1]"]
)
def test_ws_to_this_machine_is_allowed(host: str) -> None:
    url = f"ws://{host}:9/api-ws/v1/realtime"
    assert resolve_endpoint(url) == url
    assert QwenRealtimeClient("k", endpoint=url).url == url


@pytest.mark.parametrize(
    "host",
    ["192.168.1.10", "10.0.0.1", "example.com", "localhost.example.com", "127.0.0.1.nip.io",
     "[2001:db8::1]", "[::ffff:192.0.2.1]"],
)  # fmt: skip
def test_ws_to_another_machine_needs_explicit_consent(host: str) -> None:
    """The key would cross the network in clear text: refused unless allowed."""
    url = f"ws://{host}:9/api-ws/v1/realtime"
    assert not is_loopback_host(host.strip("[]"))
    with pytest.raises(InsecureEndpointError, match="unencrypted"):
        resolve_endpoint(url)
    with pytest.raises(InsecureEndpointError):
        QwenRealtimeClient("k", endpoint=url)
    assert resolve_endpoint(url, allow_insecure=True) == url
    assert QwenRealtimeClient("k", endpoint=url, allow_insecure=True).url == url


def test_wss_and_regions_need_no_consent() -> None:
    require_encryption("wss://example.com/api-ws/v1/realtime", allow_insecure=False)
    assert resolve_endpoint("wss://example.com").startswith("wss://example.com/")
    assert resolve_endpoint("intl").startswith("wss://")


@pytest.mark.parametrize(
    ("locale", "code"),
    [
        ("en-US", "en"),
        ("en_GB", "en"),
        ("EN", "en"),
        ("zh-Hans", "zh"),
        ("zh-HK", "yue"),
        ("nb-NO", "no"),
        ("fil", "fil"),
        ("pt-BR", "pt"),
        ("", None),
        (None, None),
        ("auto", None),
        ("xx-YY", None),
    ],
)
def test_normalize_language(locale: str | None, code: str | None) -> None:
    assert normalize_language(locale) == code


def test_there_are_27_languages() -> None:
    assert len(LANGUAGES) == 27


@pytest.mark.parametrize(
    "config",
    [
        SessionConfig(language="english"),
        SessionConfig(sample_rate=44100),
        SessionConfig(vad=VadConfig(threshold=1.5)),
        SessionConfig(vad=VadConfig(threshold=float("nan"))),
        SessionConfig(vad=VadConfig(silence_duration_ms=100)),
        SessionConfig(vad=VadConfig(silence_duration_ms=6001)),
        SessionConfig(model=""),
        SessionConfig(model="qwen&x=1"),
        SessionConfig(context="x" * 10_001),
    ],
)
def test_invalid_config_is_rejected_before_sending(config: SessionConfig) -> None:
    with pytest.raises(ConfigError):
        config.validate()


def test_session_payload_vad_and_manual() -> None:
    vad = SessionConfig(language="en", context="Kitchen", vad=VadConfig(0.0, 400)).session_payload()
    assert vad["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.0,
        "silence_duration_ms": 400,
    }
    assert vad["input_audio_transcription"] == {"language": "en", "corpus": {"text": "Kitchen"}}
    assert vad["input_audio_format"] == "pcm"
    manual = SessionConfig(vad=None, sample_rate=8000).session_payload()
    assert manual["turn_detection"] is None
    assert manual["sample_rate"] == 8000
    # Automatic detection: the language field is omitted, never "auto".
    assert manual["input_audio_transcription"] == {}


def test_trim_context_cuts_at_line_boundary() -> None:
    text = "\n".join(f"line {i}" for i in range(3000))
    trimmed = trim_context(text, 100)
    assert len(trimmed) <= 100
    assert text.startswith(trimmed)
    assert not trimmed.endswith("\n")
    assert trim_context("short", 100) == "short"


def test_parse_partial_and_final() -> None:
    partial = parse_event(
        {
            "type": "conversation.item.input_audio_transcription.text",
            "item_id": "item_1",
            "text": "turn on",
            "stash": " the",
            "language": "en",
            "emotion": "neutral",
        }
    )
    assert isinstance(partial, Partial)
    assert partial.preview == "turn on the"
    final = parse_event(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "item_1",
            "transcript": "",
        }
    )
    assert final == Final("item_1", "", None, None)


def test_parse_unknown_event_is_skipped_and_broken_event_raises() -> None:
    assert parse_event({"type": "response.done", "x": 1}) is None
    with pytest.raises(ProtocolError):
        parse_event({"type": "input_audio_buffer.speech_started"})
    with pytest.raises(ProtocolError):
        parse_event(["not", "an", "object"])
    with pytest.raises(ProtocolError):
        parse_event({"type": "session.created", "session": "x"})


def test_join_transcripts() -> None:
    assert join_transcripts(["Turn on the light.", "", " Thanks. "]) == "Turn on the light. Thanks."
    assert join_transcripts(["今天天气不错。", "阳光明媚。"]) == "今天天气不错。阳光明媚。"
