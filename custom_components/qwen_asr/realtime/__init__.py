"""Qwen3-ASR-Flash-Realtime protocol client (asyncio + websockets).

Shared by the Home Assistant integration and the Wyoming server; it never imports
Home Assistant. This package is their one public face: everything they use is exported
here, and they import nothing from its modules directly.

Each name's module is imported when the name is first used (PEP 562): what imports only a
light piece, such as ``health`` (the container's health check every 30 s) importing
``redact``, loads neither the client nor websockets. The imports below, for the type
checker, are the one list of what the package exports; it is read at run time too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audio_out import (
        DEFAULT_COALESCE_MS,
        MAX_COALESCE_MS,
        AudioConverter,
        AudioOptions,
        AudioQuota,
    )
    from .audio_sender import AudioSender
    from .breaker import DEFAULT_FIRST_SECONDS, DEFAULT_MAX_SECONDS, BreakerState, CircuitBreaker
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
    from .connection import ConnectionObserver, Direction, open_socket
    from .const import (
        AUDIO_FORMATS,
        DEFAULT_MODEL,
        DEFAULT_REGION,
        DEFAULT_SAMPLE_RATE,
        DEFAULT_SILENCE_MS,
        DEFAULT_VAD_THRESHOLD,
        ENDPOINTING_HOME_ASSISTANT,
        ENDPOINTING_QWEN,
        LANGUAGE_AUTO,
        LANGUAGES,
        MAX_APPEND_BASE64_BYTES,
        MAX_CONTEXT_CHARS,
        MAX_MANUAL_UTTERANCE_MS,
        MAX_REQUEST_SECONDS,
        MODELS,
        REALTIME_PATH,
        SAMPLE_RATES,
        SAMPLE_WIDTH,
        SILENCE_MS_RANGE,
        VAD_SERVER,
        VAD_THRESHOLD_RANGE,
        EventType,
        SessionState,
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
    from .key_format import MAX_SECRET_CHARS, SecretFormatError, check_secret, secret_problem
    from .languages import normalize_language
    from .receiving import SessionResults
    from .redaction import REDACTED, RedactingLogger, redact, remember_secret
    from .retry import RetryPolicy
    from .stable import StableText


def _exported_modules() -> dict[str, str]:
    """Return each exported name's module, read from the imports above (one list)."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    [imports] = [node for node in tree.body if isinstance(node, ast.If)]
    return {
        alias.asname or alias.name: f".{node.module}"
        for node in imports.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


__all__ = [
    "AUDIO_FORMATS",
    "DEFAULT_COALESCE_MS",
    "DEFAULT_FIRST_SECONDS",
    "DEFAULT_MAX_SECONDS",
    "DEFAULT_MODEL",
    "DEFAULT_REGION",
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_SILENCE_MS",
    "DEFAULT_VAD_THRESHOLD",
    "ENDPOINTING_HOME_ASSISTANT",
    "ENDPOINTING_QWEN",
    "LANGUAGES",
    "LANGUAGE_AUTO",
    "MAX_APPEND_BASE64_BYTES",
    "MAX_COALESCE_MS",
    "MAX_CONTEXT_CHARS",
    "MAX_MANUAL_UTTERANCE_MS",
    "MAX_REQUEST_SECONDS",
    "MAX_SECRET_CHARS",
    "MODELS",
    "REALTIME_PATH",
    "REDACTED",
    "SAMPLE_RATES",
    "SAMPLE_WIDTH",
    "SILENCE_MS_RANGE",
    "VAD_SERVER",
    "VAD_THRESHOLD_RANGE",
    "AudioConverter",
    "AudioOptions",
    "AudioQuota",
    "AudioSender",
    "AuthenticationError",
    "BreakerState",
    "CircuitBreaker",
    "Committed",
    "ConfigError",
    "ConnectionCapError",
    "ConnectionObserver",
    "Direction",
    "ErrorEvent",
    "Event",
    "EventType",
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
    "RedactingLogger",
    "RetryPolicy",
    "SecretFormatError",
    "ServiceError",
    "SessionConfig",
    "SessionCreated",
    "SessionIdleError",
    "SessionRefusedError",
    "SessionResults",
    "SessionState",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "StableText",
    "Timeouts",
    "VadConfig",
    "check_secret",
    "format_home_names",
    "is_loopback_host",
    "join_transcripts",
    "normalize_language",
    "open_socket",
    "parse_event",
    "redact",
    "remember_secret",
    "require_encryption",
    "resolve_endpoint",
    "secret_problem",
    "trim_context",
]

_MODULES = _exported_modules()


def __getattr__(name: str) -> Any:
    """Import an exported name's module the first time the name is used."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    """List the exported names too, imported or not."""
    return sorted({*globals(), *__all__})
