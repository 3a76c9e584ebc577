"""Qwen3-ASR-Flash-Realtime protocol client (asyncio + websockets).

Shared by the Home Assistant integration and the Wyoming server; it never imports
Home Assistant.
"""

from .audio_out import AudioConverter, AudioOptions, AudioQuota
from .breaker import BreakerState, CircuitBreaker
from .client import QwenRealtimeClient
from .config import (
    SessionConfig,
    Timeouts,
    VadConfig,
    is_loopback_host,
    require_encryption,
    resolve_endpoint,
    trim_context,
)
from .errors import (
    AuthenticationError,
    ConfigError,
    ConnectionCapError,
    InsecureEndpointError,
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    RateLimitError,
    ServiceError,
    SessionIdleError,
    SessionRefusedError,
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
    join_transcripts,
    parse_event,
)
from .home_names import HomeNames, Named, format_home_names
from .languages import normalize_language
from .receiving import SessionState
from .retry import RetryPolicy
from .stable import StableText

__all__ = [
    "AudioConverter",
    "AudioOptions",
    "AudioQuota",
    "AuthenticationError",
    "BreakerState",
    "CircuitBreaker",
    "Committed",
    "ConfigError",
    "ConnectionCapError",
    "ErrorEvent",
    "Event",
    "Final",
    "Finished",
    "HomeNames",
    "InsecureEndpointError",
    "ItemFailed",
    "Named",
    "Partial",
    "ProtocolError",
    "QwenConnectionError",
    "QwenError",
    "QwenRealtimeClient",
    "QwenTimeoutError",
    "RateLimitError",
    "RetryPolicy",
    "ServiceError",
    "SessionConfig",
    "SessionCreated",
    "SessionIdleError",
    "SessionRefusedError",
    "SessionState",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "StableText",
    "Timeouts",
    "VadConfig",
    "format_home_names",
    "is_loopback_host",
    "join_transcripts",
    "normalize_language",
    "parse_event",
    "require_encryption",
    "resolve_endpoint",
    "trim_context",
]
