"""The server events a session has received, for its readers, and their decoding."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from .errors import ProtocolError, QwenError, QwenTimeoutError
from .events import Event, Finished, parse_event

_LOGGER = logging.getLogger(__name__)


def decode_message(message: str | bytes) -> Event | None:
    """The event a WebSocket message carries; None for event types the client ignores."""
    if isinstance(message, bytes):
        raise ProtocolError("The service sent a binary frame")
    try:
        data = json.loads(message)
    except ValueError:
        raise ProtocolError("The service sent invalid JSON") from None
    event = parse_event(data)
    if event is None:
        _LOGGER.debug("Ignoring server event %s", data.get("type"))
    return event


class EventInbox:
    """Events in arrival order; the error that ended the session stays for every reader."""

    def __init__(self) -> None:
        self._items: asyncio.Queue[Event | QwenError] = asyncio.Queue()

    def put(self, item: Event | QwenError) -> None:
        self._items.put_nowait(item)

    async def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        while True:
            item = await self._items.get()
            if isinstance(item, QwenError):
                self._items.put_nowait(item)  # later readers see the failure too
                raise item
            yield item
            if isinstance(item, Finished):
                return

    async def next_event(self, timeout: float) -> Event:
        """The next server event, waiting at most ``timeout`` seconds."""
        try:
            item = await asyncio.wait_for(self._items.get(), timeout)
        except TimeoutError:
            raise QwenTimeoutError("Timed out waiting for the service") from None
        if isinstance(item, QwenError):
            self._items.put_nowait(item)
            raise item
        return item
