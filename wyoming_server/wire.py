"""Reading Wyoming events defensively, and dropping a client's input before a close.

``wyoming.event.async_read_event`` trusts the declared lengths: a header announcing a
gigabyte payload makes it buffer until memory runs out, and a short read escapes as an
exception. This reader bounds both and turns every malformed frame into ``WireError``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

MAX_DATA_BYTES = 1 << 20  # JSON data block
MAX_PAYLOAD_BYTES = 4 << 20  # ~2 minutes of 16 kHz mono audio in one chunk


class WireError(Exception):
    """The peer sent something that is not a valid Wyoming event."""


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """Read the next event; None at end of stream, WireError if it is not a valid event."""
    try:
        line = await reader.readline()
    except ValueError:  # header line longer than the reader's limit
        raise WireError("Event header too long") from None
    if not line:
        return None
    header = _parse_json(line, "header")
    event_type = header.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WireError("Event header has no type")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise WireError("Event data is not an object")
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    try:
        if data_length:
            data.update(_parse_json(await reader.readexactly(data_length), "data"))
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # the peer went away mid-event
    return Event(type=event_type, data=data, payload=payload)


async def discard_input(reader: asyncio.StreamReader, seconds: float) -> None:
    """Read and drop what the client sends, for at most ``seconds`` or until it closes.

    Before closing after an Error: closing a socket with unread data sends a TCP reset,
    which can destroy the Error before the client reads it.
    """
    async with asyncio.timeout(seconds):
        while await reader.read(1 << 16):
            pass


def _parse_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        # Decoded first: json.loads(bytes) detects the encoding in Python code, per event.
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WireError(f"Event {what} is not JSON") from None
    except RecursionError:  # "[[[[..." deeper than the interpreter's recursion limit
        raise WireError(f"Event {what} is nested too deeply") from None
    if not isinstance(value, dict):
        raise WireError(f"Event {what} is not a JSON object")
    return value


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WireError(f"Invalid {key}")
    if value > limit:
        raise WireError(f"{key} {value} exceeds the limit of {limit} bytes")
    return value
