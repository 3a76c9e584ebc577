"""Typed, validated session configuration and endpoint resolution."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .const import (
    DEFAULT_MODEL,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    LANGUAGES,
    MAX_CONTEXT_CHARS,
    REALTIME_PATH,
    REGION_URLS,
    SAMPLE_RATES,
    SILENCE_MS_RANGE,
    VAD_SERVER,
    VAD_THRESHOLD_RANGE,
)
from .errors import ConfigError, InsecureEndpointError


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Server-side voice activity detection (Qwen decides where utterances end)."""

    threshold: float = DEFAULT_VAD_THRESHOLD
    silence_duration_ms: int = DEFAULT_SILENCE_MS

    def validate(self) -> None:
        """Raise ConfigError for a threshold or silence duration out of its range."""
        low, high = VAD_THRESHOLD_RANGE
        if not (math.isfinite(self.threshold) and low <= self.threshold <= high):
            raise ConfigError(f"VAD threshold must be between {low} and {high}")
        low_ms, high_ms = SILENCE_MS_RANGE
        if not low_ms <= self.silence_duration_ms <= high_ms:
            raise ConfigError(f"VAD silence duration must be {low_ms}-{high_ms} ms")


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What one recognition session asks of the service.

    ``vad`` None means manual mode: the client commits utterances itself.
    ``language`` None means automatic language detection.
    """

    model: str = DEFAULT_MODEL
    language: str | None = None
    sample_rate: int = DEFAULT_SAMPLE_RATE
    vad: VadConfig | None = field(default_factory=VadConfig)
    context: str = ""

    @property
    def manual(self) -> bool:
        """Tell whether the client commits utterances itself (no server VAD)."""
        return self.vad is None

    def validate(self) -> None:
        """Raise ConfigError for a value the service would refuse."""
        if not self.model or any(ch in self.model for ch in "?&#/ "):
            raise ConfigError("Model name is empty or contains URL characters")
        if self.language is not None and self.language not in LANGUAGES:
            raise ConfigError(f"Unsupported language {self.language!r}")
        if self.sample_rate not in SAMPLE_RATES:
            raise ConfigError(f"Sample rate must be one of {SAMPLE_RATES}")
        if len(self.context) > MAX_CONTEXT_CHARS:
            raise ConfigError(f"Context text is longer than {MAX_CONTEXT_CHARS} characters")
        if self.vad is not None:
            self.vad.validate()

    def session_payload(self) -> dict[str, object]:
        """Return the ``session`` object of a ``session.update`` event."""
        transcription: dict[str, object] = {}
        if self.language:
            transcription["language"] = self.language
        if self.context:
            transcription["corpus"] = {"text": self.context}
        turn_detection: dict[str, object] | None = None
        if self.vad is not None:
            turn_detection = {
                "type": VAD_SERVER,
                "threshold": self.vad.threshold,
                "silence_duration_ms": self.vad.silence_duration_ms,
            }
        return {
            "modalities": ["text"],
            "input_audio_format": "pcm",
            "sample_rate": self.sample_rate,
            "input_audio_transcription": transcription,
            "turn_detection": turn_detection,
        }


def trim_context(text: str, limit: int = MAX_CONTEXT_CHARS) -> str:
    """Bound context text to the service's limit, cutting at a line boundary."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit + 1)
    return text[: cut if cut > 0 else limit]


def resolve_endpoint(region: str, *, allow_insecure: bool = False) -> str:
    """Turn a region name (``intl``, ``cn``) or a custom URL into the realtime base URL.

    Custom URLs may use ``wss://`` or, to this machine only, ``ws://`` (see
    ``require_encryption``); they must not carry a query string because the model is
    appended as ``?model=``.
    """
    if region in REGION_URLS:
        return REGION_URLS[region]
    parts = urlsplit(region)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"Endpoint must be one of {sorted(REGION_URLS)} or a ws:// / wss:// URL")
    if parts.query or parts.fragment:
        raise ConfigError("Endpoint URL must not contain a query string")
    if parts.username or parts.password:
        raise ConfigError("Endpoint URL must not contain credentials")
    require_encryption(region, allow_insecure=allow_insecure)
    if parts.path in ("", "/"):
        # A bare host, such as a workspace domain: use the service's standard path.
        return region.rstrip("/") + REALTIME_PATH
    return region


def require_encryption(url: str, *, allow_insecure: bool) -> None:
    """Refuse ``ws://`` to another machine unless the user explicitly allowed it.

    The API key travels in the handshake's Authorization header, so over ``ws://`` it is
    readable by anyone on the network path; only loopback keeps it on this machine.
    """
    parts = urlsplit(url)
    if parts.scheme != "ws" or allow_insecure or is_loopback_host(parts.hostname or ""):
        return
    raise InsecureEndpointError(
        f"ws:// would send the API key unencrypted to {parts.hostname}, which is not this "
        "machine: use wss://, or allow an unencrypted connection explicitly"
    )


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1); names are not resolved."""
    name = host.rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait of the client is bounded by one of these (seconds)."""

    connect: float = 10.0  # TCP + TLS + WebSocket handshake
    setup: float = 10.0  # session.created / session.updated after the handshake
    finish: float = 20.0  # session.finish -> session.finished (the SDK's default)
    close: float = 2.0
    # After session.finish, a service silent this long has stalled (None: wait ``finish``).
    finish_silence: float | None = 3.0
