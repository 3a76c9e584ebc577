"""The lifecycle states of a realtime session."""

from __future__ import annotations

from enum import StrEnum


class SessionState(StrEnum):
    """Lifecycle of a session, as the SDK's open/close notifications would report it."""

    NEW = "new"
    CONNECTING = "connecting"
    READY = "ready"
    FINISHING = "finishing"
    FINISHED = "finished"
    FAILED = "failed"
    CLOSED = "closed"
