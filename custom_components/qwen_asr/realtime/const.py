"""Constants of the Qwen3-ASR realtime protocol (see docs/protocol.md)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

DEFAULT_MODEL: Final = "qwen3-asr-flash-realtime"
MODELS: Final = (
    "qwen3-asr-flash-realtime",
    "qwen3-asr-flash-realtime-2026-02-10",
    "qwen3-asr-flash-realtime-2025-10-27",
)

REALTIME_PATH: Final = "/api-ws/v1/realtime"
# Words both front ends use: a language left to Qwen, and the server VAD's turn detection.
LANGUAGE_AUTO: Final = "auto"
VAD_SERVER: Final = "server_vad"
# Who ends a command, in both front ends' settings: Home Assistant's VAD (the end of the
# audio stream) or Qwen's server VAD (its first completed utterance).
ENDPOINTING_HOME_ASSISTANT: Final = "home_assistant"
ENDPOINTING_QWEN: Final = "qwen"
# The longest request either front end serves (the server's --max-request-seconds default);
# Home Assistant's pipelines end the audio far earlier.
MAX_REQUEST_SECONDS: Final = 300.0
# Region name -> base URL; the model is appended as ``?model=``.
REGION_URLS: Final = {
    "intl": "wss://dashscope-intl.aliyuncs.com" + REALTIME_PATH,
    "cn": "wss://dashscope.aliyuncs.com" + REALTIME_PATH,
}
DEFAULT_REGION: Final = "intl"

SAMPLE_RATES: Final = (16000, 8000)
DEFAULT_SAMPLE_RATE: Final = 16000
SAMPLE_WIDTH: Final = 2  # PCM16 little-endian, mono
AUDIO_FORMATS: Final = ("pcm", "opus")

DEFAULT_VAD_THRESHOLD: Final = 0.2
VAD_THRESHOLD_RANGE: Final = (-1.0, 1.0)
DEFAULT_SILENCE_MS: Final = 800
SILENCE_MS_RANGE: Final = (200, 6000)

# One ``input_audio_buffer.append`` carries at most this much base64 text.
MAX_APPEND_BASE64_BYTES: Final = 15 * 1024 * 1024
# Manual mode: audio between two commits must stay under this.
MAX_MANUAL_UTTERANCE_MS: Final = 60_000
# Context biasing text (``corpus.text``) is limited to 10,000 tokens; we bound by characters,
# conservatively assuming at least one token per character for CJK text.
MAX_CONTEXT_CHARS: Final = 10_000

# Supported recognition languages: code -> English name.
LANGUAGES: Final = {
    "zh": "Chinese",
    "yue": "Cantonese",
    "en": "English",
    "ja": "Japanese",
    "de": "German",
    "ko": "Korean",
    "ru": "Russian",
    "fr": "French",
    "pt": "Portuguese",
    "it": "Italian",
    "es": "Spanish",
    "hi": "Hindi",
    "id": "Indonesian",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "fil": "Filipino",
    "fi": "Finnish",
    "is": "Icelandic",
    "ms": "Malay",
    "no": "Norwegian",
    "pl": "Polish",
    "sv": "Swedish",
}

EMOTIONS: Final = ("surprised", "neutral", "happy", "sad", "disgusted", "angry", "fearful")


class EventType:
    """Wire names of the protocol's events."""

    # client -> server
    SESSION_UPDATE: Final = "session.update"
    APPEND: Final = "input_audio_buffer.append"
    COMMIT: Final = "input_audio_buffer.commit"
    SESSION_FINISH: Final = "session.finish"
    # server -> client
    ERROR: Final = "error"
    SESSION_CREATED: Final = "session.created"
    SESSION_UPDATED: Final = "session.updated"
    SPEECH_STARTED: Final = "input_audio_buffer.speech_started"
    SPEECH_STOPPED: Final = "input_audio_buffer.speech_stopped"
    COMMITTED: Final = "input_audio_buffer.committed"
    ITEM_CREATED: Final = "conversation.item.created"
    PARTIAL: Final = "conversation.item.input_audio_transcription.text"
    COMPLETED: Final = "conversation.item.input_audio_transcription.completed"
    FAILED: Final = "conversation.item.input_audio_transcription.failed"
    SESSION_FINISHED: Final = "session.finished"


class SessionState(StrEnum):
    """Lifecycle of a session, as the SDK's open/close notifications would report it."""

    NEW = "new"
    CONNECTING = "connecting"
    READY = "ready"
    FINISHING = "finishing"
    FINISHED = "finished"
    FAILED = "failed"
    CLOSED = "closed"
