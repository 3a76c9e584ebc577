"""What the emulator remembers about each connection, for test assertions and benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .session_config import SessionConfig


@dataclass(slots=True)
class SessionRecord:
    """One accepted WebSocket connection. The API key itself is never stored."""

    session_id: str
    model: str | None
    auth_scheme: str | None  # e.g. "Bearer" or "bearer", as the client spelled it
    opened_at: float  # time.monotonic()
    config: SessionConfig = field(default_factory=SessionConfig)
    # (time.monotonic() at receipt, event type) for every client message; invalid JSON and
    # binary frames appear as "<invalid-json>" / "<binary>".
    client_events: list[tuple[float, str]] = field(default_factory=list)
    # (time.monotonic() when written to the socket, event type).
    server_events: list[tuple[float, str]] = field(default_factory=list)
    audio_bytes: int = 0
    corpus_texts: list[str] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    closed_at: float | None = None
    close_code: int | None = None
    dropped: bool = False  # closed abruptly by the drop_after_audio_ms fault
    vad_lost_ms: float = 0.0  # audio the VAD never heard (Behaviour.vad_backlog_limit_ms)

    @property
    def client_types(self) -> list[str]:
        """The type of every client message, in the order received."""
        return [kind for _, kind in self.client_events]

    @property
    def server_types(self) -> list[str]:
        """The type of every server event, in the order written."""
        return [kind for _, kind in self.server_events]


@dataclass(frozen=True, slots=True)
class RejectedHandshake:
    """An upgrade the emulator refused: HTTP status, reason, the request's path and auth scheme."""

    status: int
    reason: str
    path: str
    auth_scheme: str | None


ClientEventHook = Callable[[SessionRecord, dict[str, Any], float], None]
ServerEventHook = Callable[[SessionRecord, dict[str, Any], float], None]
