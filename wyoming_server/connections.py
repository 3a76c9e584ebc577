"""How many Wyoming connections the server holds: in all, and per client address.

Each connection costs a file descriptor and a handler; without a cap, one device on the LAN
opening a few hundred idle connections takes every descriptor and nobody else is accepted.
A connection beyond a cap is answered with one short ``Error`` and closed at once, before
a handler or any buffer is made for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io

from wyoming.error import Error
from wyoming.event import write_event

TOO_MANY_CONNECTIONS = "too-many-connections"


class ConnectionCap:
    """Counts open connections; ``enter`` refuses one beyond ``total`` or ``per_client``."""

    def __init__(self, total: int | None, per_client: int | None) -> None:
        """Cap the connections at ``total`` and ``per_client`` (None: no cap)."""
        self.total = total
        self.per_client = per_client
        self.open = 0
        # Only addresses with an open connection: bounded by ``total``.
        self._by_client: dict[str, int] = {}

    def enter(self, client: str | None) -> str | None:
        """Count a new connection from ``client`` (None: unix socket or stdio).

        Return why it is refused, if it is (it is then not counted).
        """
        if self.total is not None and self.open >= self.total:
            return f"the server has {self.open} connections open (--max-connections {self.total})"
        held = self._by_client.get(client, 0) if client is not None else 0
        if client is not None and self.per_client is not None and held >= self.per_client:
            return (
                f"this client has {held} connections open "
                f"(--max-connections-per-client {self.per_client})"
            )
        self.open += 1
        if client is not None:
            self._by_client[client] = held + 1
        return None

    def leave(self, client: str | None) -> None:
        """Forget a connection counted by ``enter``: it has closed."""
        self.open -= 1
        if client is None:
            return
        held = self._by_client.get(client, 0) - 1
        if held > 0:
            self._by_client[client] = held
        else:
            self._by_client.pop(client, None)


def _refusal_bytes() -> bytes:
    out = io.BytesIO()
    text = "Too many connections from this client or in all; close some and try again"
    write_event(Error(text=text, code=TOO_MANY_CONNECTIONS).event(), out)
    return out.getvalue()


_REFUSAL = _refusal_bytes()  # serialized once: a flood of connections costs no JSON work


def close_at_once(writer: asyncio.StreamWriter) -> None:
    """Answer a connection beyond a cap with ``Error too-many-connections`` and close it.

    No lingering and no waiting: the refusal must free the descriptor at once. The Error
    goes out with the close (a client that sent nothing yet reads it; one that did may see a
    reset instead, which is as clear).
    """
    with contextlib.suppress(OSError, RuntimeError):
        writer.write(_REFUSAL)
    writer.close()
