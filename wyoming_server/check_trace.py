"""What ``check`` saw on each connection, and the ``--trace`` file for a bug report.

Every event both ways is kept with its time, the base64 ``audio`` of appends replaced by
its length in bytes, so neither memory nor the trace grows with the audio. The handshake's
headers never reach here (the connection observer sees messages only), and the key is
masked in every line written, should the service ever echo it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from qwen_asr_realtime import REDACTED, Direction

# Per connection; one bundled sample makes about a hundred events.
MAX_EVENTS = 20_000


@dataclass(frozen=True, slots=True)
class Seen:
    """One event on a connection."""

    t: float  # seconds since the check started
    direction: Direction
    event: dict[str, Any]

    @property
    def type(self) -> str:
        """Return the event's ``type``."""
        return str(self.event.get("type", ""))


def elide_audio(event: dict[str, Any]) -> dict[str, Any]:
    """Return the event with a base64 ``audio`` field replaced by its length in bytes."""
    audio = event.get("audio")
    if not isinstance(audio, str):
        return event
    padding = len(audio) - len(audio.rstrip("="))
    return {**event, "audio": len(audio) * 3 // 4 - padding}


def decode(data: str | bytes) -> dict[str, Any]:
    """Return the event a message carries; a stand-in for binary or invalid messages."""
    if isinstance(data, bytes):
        return {"type": "<binary>", "bytes": len(data)}
    try:
        event = json.loads(data)
    except ValueError:
        return {"type": "<invalid-json>", "chars": len(data)}
    return elide_audio(event) if isinstance(event, dict) else {"type": "<not-an-object>"}


class TraceFile:
    """JSON lines: ``{"t", "connection", "direction", "event"}``; the key never written."""

    def __init__(self, path: Path, secret: str) -> None:
        """Create ``path``; ``secret`` is masked wherever it appears."""
        self._file: TextIO = path.open("w", encoding="utf-8")
        self._secret = secret

    def __repr__(self) -> str:
        """Name the file, not the key."""
        return f"<TraceFile {self._file.name!r}>"  # without the key

    def write(self, t: float, connection: str, direction: str, event: dict[str, Any]) -> None:
        """Append one line."""
        line = json.dumps(
            {"t": round(t, 4), "connection": connection, "direction": direction, "event": event},
            ensure_ascii=False,
        )
        if self._secret:
            line = line.replace(self._secret, REDACTED)
        self._file.write(line + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()


class ConnectionTrace:
    """Observes one connection (qwen_asr_realtime.connection.ConnectionObserver)."""

    def __init__(self, label: str, clock: Callable[[], float], trace: TraceFile | None) -> None:
        """Name the connection ``label`` in the trace; ``clock`` gives the check's time."""
        self.label = label
        self._clock = clock
        self._trace = trace
        self.events: list[Seen] = []
        self.dropped = 0  # events beyond MAX_EVENTS, not kept
        self.ready_at: float | None = None
        self.closed_at: float | None = None
        self.close_code: int | None = None
        self.closed_event = asyncio.Event()

    def transport_ready(self) -> None:
        """Note that TCP (and TLS) are up."""
        self.ready_at = self._clock()
        self._write("connection", {"type": "transport.ready"})

    def message(self, direction: Direction, data: str | bytes) -> None:
        """Keep and trace one message."""
        event = decode(data)
        seen = Seen(self._clock(), direction, event)
        if len(self.events) >= MAX_EVENTS:
            self.dropped += 1
            return
        self.events.append(seen)
        if self._trace is not None:
            self._trace.write(seen.t, self.label, direction, event)

    def closed(self, code: int | None) -> None:
        """Note the connection's end."""
        self.closed_at, self.close_code = self._clock(), code
        self._write("connection", {"type": "closed", "code": code})
        self.closed_event.set()

    def note(self, kind: str, **fields: Any) -> None:
        """Trace something the check did (not a message), e.g. that it closes the socket."""
        self._write("check", {"type": kind, **fields})

    def _write(self, direction: str, event: dict[str, Any]) -> None:
        if self._trace is not None:
            self._trace.write(self._clock(), self.label, direction, event)

    def first(self, kind: str, direction: Direction = "received") -> Seen | None:
        """Return the first event of this type and direction."""
        return next((e for e in self.events if e.type == kind and e.direction == direction), None)

    def received(self) -> list[Seen]:
        """Return the service's events."""
        return [e for e in self.events if e.direction == "received"]
