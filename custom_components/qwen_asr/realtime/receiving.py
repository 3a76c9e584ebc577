"""The receiving side of a realtime session: server events applied to the session's state.

A mixin of QwenRealtimeClient: it reads and sets the client's results and lifecycle
flags, declared here for the type checker, and records the error that ends a session.
"""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .echo import ContextEchoFilter
from .errors import QwenConnectionError, QwenError, RateLimitError
from .event_inbox import EventInbox, decode_message
from .events import (
    Committed,
    ErrorEvent,
    Event,
    Final,
    Finished,
    ItemFailed,
    Partial,
    SessionCreated,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
)
from .liveness import Activity
from .retry import error_from_event
from .session_state import SessionState

_LOGGER = logging.getLogger(__name__)


class ServerEventReceiver:
    """Reads the socket, applies each server event, and fails the session on errors."""

    # Set by QwenRealtimeClient.__init__.
    state: SessionState
    session_id: str | None
    last_item_id: str | None
    finals: list[Final]
    failed_items: list[ItemFailed]
    partials: dict[str, Partial]
    close_code: int | None
    close_reason: str
    _ws: ClientConnection | None
    _activity: Activity
    _echo: ContextEchoFilter
    _events: EventInbox
    _attempt_error: RateLimitError | None
    _error: QwenError | None
    _created: asyncio.Event
    _updated: asyncio.Event
    _finished: asyncio.Event
    _final_seen: asyncio.Event

    async def _receive_loop(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                self._activity.touch()
                event = decode_message(message)
                if event is None:
                    continue
                self._handle(event)
                if isinstance(event, Finished) or self._attempt_error is not None:
                    return
            # The service closed normally but never said session.finished.
            self._fail(self._dropped(None))
        except ConnectionClosed as err:
            self._fail(self._dropped(err))
        except QwenError as err:
            self._fail(err)

    def _handle(self, event: Event) -> None:
        item_id = getattr(event, "item_id", None)
        if item_id:
            self.last_item_id = item_id
        match event:
            case SessionCreated(session_id=session_id):
                self.session_id = session_id
                self._created.set()
            case SessionUpdated():
                self._updated.set()
            case SpeechStarted():
                self._echo.speech_started(event.item_id)
            case Partial():
                if self._echo.withholds(event):
                    return
                self.partials[event.item_id] = event
            case Final():
                event = self._echo.final(event)
                self.partials.pop(event.item_id, None)
                self.finals.append(event)
                self._final_seen.set()
            case ItemFailed():
                self.partials.pop(event.item_id, None)
                self.failed_items.append(event)
                _LOGGER.warning("Qwen could not transcribe an utterance: %s", event.message)
            case ErrorEvent():
                error = error_from_event(event)
                if isinstance(error, RateLimitError) and self.state is SessionState.CONNECTING:
                    self._attempt_error = error  # _connect retries
                    self._updated.set()
                    return
                # Every request this client sends is valid, so any error ends the session.
                self._events.put(event)
                self._fail(error)
                return
            case Finished():
                self.state = SessionState.FINISHED
                self._finished.set()
                self._final_seen.set()
            case SpeechStopped() | Committed():
                pass
        self._events.put(event)

    def _dropped(self, err: ConnectionClosed | None) -> QwenConnectionError:
        if err is not None and err.rcvd is not None:
            self.close_code, self.close_reason = err.rcvd.code, err.rcvd.reason
            return QwenConnectionError(
                f"The service closed the connection (code {err.rcvd.code} {err.rcvd.reason})"
            )
        return QwenConnectionError("The connection to the service was lost")

    def _fail(self, error: QwenError) -> QwenError:
        """Record the first error, wake every waiter, and return it for raising."""
        if self._error is None and self.state is not SessionState.FINISHED:
            self._error = error
            self.state = SessionState.FAILED
            self._events.put(error)
            for waiter in (self._created, self._updated, self._finished, self._final_seen):
                waiter.set()
        return self._error or error
