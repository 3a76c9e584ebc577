"""The bounds on every wait of the realtime client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait of the client is bounded by one of these (seconds)."""

    connect: float = 10.0  # TCP + TLS + WebSocket handshake
    setup: float = 10.0  # session.created / session.updated after the handshake
    finish: float = 20.0  # session.finish -> session.finished (the SDK's default)
    close: float = 2.0
    # After session.finish, a service silent this long has stalled (None: wait ``finish``).
    finish_silence: float | None = 3.0
