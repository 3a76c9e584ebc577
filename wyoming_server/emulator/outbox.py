"""The emulated session's server events on their way out, and the faults that act there.

Events leave in the order they were queued. Faults delay them (``event_delay_seconds``,
``completed_delay_seconds``, ``finish_event_delay_seconds``), inject a server error after N
events, or stall the session (nothing is sent any more); ``Behaviour.finalize_delay_ms`` holds each
final result until its due time. After ``session.finished`` the connection is closed once
the grace period has passed (if the behaviour has one), unless the client closed first;
after a server-side ``error`` it is closed at once when ``close_after_server_error`` is on.
Event ids are given as events leave, in the behaviour's id format.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from qwen_asr_realtime import EventType
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import server_events
from .ids import new_event_id

if TYPE_CHECKING:
    from .records import SessionRecord
    from .session import SessionContext

# Key of an outbox payload (never sent): time.monotonic() before which it is not sent.
DUE = "_due"


class EventOutbox:
    """Writes queued server events to one connection, applying the send-side faults."""

    def __init__(
        self,
        ws: ServerConnection,
        record: SessionRecord,
        context: SessionContext,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        """Send on ``ws`` for the session ``record``; ``spawn`` runs background tasks (the close).

        ``context`` gives the faults and behaviour, read live at each event.
        """
        self._ws = ws
        self._record = record
        self._ctx = context
        self._spawn = spawn
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sent_count = 0
        self._error_injected = False
        self.stalled = False  # the stall faults: nothing is sent any more
        self.finished = False  # session.finished is queued: finish_event_delay_seconds applies

    def put(self, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for sending; dropped once the outbox is stalled."""
        if not self.stalled:
            self._queue.put_nowait(payload)

    async def drain(self) -> None:
        """Wait until everything queued so far has been written (or dropped)."""
        await self._queue.join()

    async def run(self) -> None:
        """Send queued events in order until cancelled, injecting the configured faults.

        After ``session.finished`` the socket closes after the grace period; after a server error
        (when the service closes on one) nothing more is sent.
        """
        while True:
            payload = await self._queue.get()
            try:
                if self.stalled:
                    continue
                await self.deliver(payload)
                limit = self._ctx.faults.error_after_events
                if limit is not None and not self._error_injected and self._sent_count >= limit:
                    self._error_injected = True
                    payload = server_events.error(
                        code="internal_error",
                        message="Internal server error (injected fault).",
                        error_type="server_error",
                    )
                    await self.deliver(payload)
                if payload["type"] == EventType.SESSION_FINISHED:
                    self._spawn(self._close_after_grace())
                if self._closes_session(payload):
                    self.stalled = True  # nothing more is sent on a closing socket
                    await self._ws.close(1011, "server error")
            except ConnectionClosed:
                pass
            finally:
                self._queue.task_done()

    async def deliver(self, payload: dict[str, Any]) -> None:
        """Write one event after its delays (the benchmarks wrap this to delay set-up)."""
        due = payload.pop(DUE, None)
        if due is not None and (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        delay = self._ctx.faults.event_delay_seconds
        if payload["type"] in (EventType.COMPLETED, EventType.FAILED):
            delay += self._ctx.faults.completed_delay_seconds
        if self.finished:
            delay += self._ctx.faults.finish_event_delay_seconds
        if delay > 0:
            await asyncio.sleep(delay)
        payload["event_id"] = new_event_id(dash=self._ctx.behaviour.ids_with_dash)
        await self._ws.send(json.dumps(payload))
        now = time.monotonic()
        self._sent_count += 1
        self._record.server_events.append((now, payload["type"]))
        if self._ctx.on_server_event is not None:
            self._ctx.on_server_event(self._record, payload, now)

    def _closes_session(self, payload: dict[str, Any]) -> bool:
        """Tell whether this event was a server-side error after which the service closes."""
        if payload["type"] != EventType.ERROR or not self._ctx.behaviour.close_after_server_error:
            return False
        error = payload.get("error")
        return isinstance(error, dict) and error.get("type") == "server_error"

    async def _close_after_grace(self) -> None:
        grace = self._ctx.behaviour.close_grace_seconds
        if grace is None:
            return
        await asyncio.sleep(grace)
        await self._ws.close(1000, "session finished")
