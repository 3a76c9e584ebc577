"""Qwen3-ASR-Flash-Realtime protocol client (asyncio + websockets).

Shared by the Home Assistant integration and the Wyoming server; it never imports
Home Assistant.
"""

from .audio_out import AudioConverter, AudioOptions
from .client import QwenRealtimeClient, SessionState, Timeouts, join_transcripts
from .config import SessionConfig, VadConfig, resolve_endpoint, trim_context
from .errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    ServiceError,
)
from .events import (
    Committed,
    ErrorEvent,
    Event,
    Final,
    Finished,
    ItemFailed,
    Partial,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    parse_event,
)
from .home_names import HomeNames, Named, format_home_names
from .languages import normalize_language

__all__ = [
    "AudioConverter",
    "AudioOptions",
    "AuthenticationError",
    "Committed",
    "ConfigError",
    "ErrorEvent",
    "Event",
    "Final",
    "Finished",
    "HomeNames",
    "ItemFailed",
    "Named",
    "Partial",
    "ProtocolError",
    "QwenConnectionError",
    "QwenError",
    "QwenRealtimeClient",
    "QwenTimeoutError",
    "ServiceError",
    "SessionConfig",
    "SessionCreated",
    "SessionState",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "Timeouts",
    "VadConfig",
    "format_home_names",
    "join_transcripts",
    "normalize_language",
    "parse_event",
    "resolve_endpoint",
    "trim_context",
]
