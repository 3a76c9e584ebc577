"""Runtime data of a config entry and of each of its speech-to-text subentries."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from homeassistant.config_entries import ConfigEntry

from .context import HomeContext
from .realtime import CircuitBreaker


def _set_fields(summary: SessionSummary | FallbackSummary) -> dict[str, Any]:
    """Return the fields that were filled in (diagnostics show only what happened)."""
    return {key: value for key, value in dataclasses.asdict(summary).items() if value is not None}


@dataclass(slots=True)
class SessionSummary:
    """The latest recognition of one entity: no audio, no transcript text, no key."""

    sample_rate: int
    # Only when Home Assistant takes partial transcripts (the progress entry point).
    partials_yielded: int | None = None
    language: str | None = None
    context_chars: int | None = None
    home_names_sent: int | None = None
    # The breaker was open: the "If Qwen fails, use" entity answered without a session.
    qwen_skipped: bool | None = None
    error: str | None = None
    session_id: str | None = None
    audio_bytes: int | None = None
    duration_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as diagnostics show it."""
        return _set_fields(self)


@dataclass(slots=True)
class FallbackSummary:
    """The latest answer of the "If Qwen fails, use" entity: which, why, when (fallback.py)."""

    entity_id: str
    reason: str
    at: str
    audio_bytes_held: int
    result: str | None = None
    audio_bytes: int | None = None
    duration_seconds: float | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as diagnostics show it."""
        return _set_fields(self)


@dataclass
class SpeechToTextState:
    """What one speech-to-text subentry's entity shares with diagnostics."""

    last_session: SessionSummary | None = None
    last_fallback: FallbackSummary | None = None
    # With a fallback entity: after Qwen fails, skip it for a growing while (breaker.py).
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)


@dataclass
class QwenRuntimeData:
    """What the entities share with diagnostics while the entry is loaded."""

    home_context: HomeContext
    # The speech-to-text subentries set up (id -> title); another set needs a reload.
    subentries: dict[str, str] = field(default_factory=dict)
    # Each speech-to-text subentry's own state, by subentry id.
    speech_to_text: dict[str, SpeechToTextState] = field(default_factory=dict)

    def state_of(self, subentry_id: str) -> SpeechToTextState:
        """Return the state of a speech-to-text subentry, created on first use."""
        return self.speech_to_text.setdefault(subentry_id, SpeechToTextState())


# The typed entry (core writes `type X = ConfigEntry[...]`, which the project's Python 3.11
# tools, such as the coverage report of .ci/run, cannot parse).
QwenConfigEntry: TypeAlias = ConfigEntry[QwenRuntimeData]
