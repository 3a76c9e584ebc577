"""The receiving side of a realtime session: what the service said, and the loop that reads it.

``SessionResults`` is the one owner of everything received (finals, partials, failed items,
ids, the close code, the lifecycle state and its events) and of the error that ends the
session, and of what derives from them (the transcript, what was recognized);
``ServerEventReceiver`` writes it, and callers read it as ``client.results``. Its ``inbox``
holds the events, in order, for the client's ``events`` and ``next_event``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .const import SessionState
from .errors import (
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    RateLimitError,
    SessionIdleError,
)
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
    join_transcripts,
    parse_event,
)
from .retry import error_from_event

if TYPE_CHECKING:
    from .echo import ContextEchoFilter
    from .liveness import Activity

_LOGGER = logging.getLogger(__name__)
# Items announced and not yet final that one session tracks; more means "not all final".
MAX_OPEN_ITEMS = 64
# A clean close: what the service's idle limit sends (its code is undocumented).
_CLOSE_NORMAL = 1000


def decode_message(message: str | bytes) -> Event | None:
    """Return the event a WebSocket message carries; None for types the client ignores."""
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


class SessionResults:
    """What the service has said about one session, and how the session stands."""

    def __init__(self) -> None:
        """Start with a new session: nothing said yet."""
        self.state = SessionState.NEW
        self.session_id: str | None = None
        self.last_item_id: str | None = None
        self.finals: list[Final] = []
        self.failed_items: list[ItemFailed] = []
        self.partials: dict[str, Partial] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self.ending = False  # the client has ended the session (session.finish is due)
        # Items the service announced (speech_started, committed, partials) and not yet
        # final or failed, bounded; too_many_open: more were open than tracked.
        self.open_items: set[str] = set()
        self.too_many_open = False
        self.error: QwenError | None = None  # the error that ended the session
        # A rate limit reported while connecting: ends that attempt, not the session.
        self.attempt_error: RateLimitError | None = None
        # Events in arrival order, then the error that ended the session (the client reads).
        self.inbox: asyncio.Queue[Event | QwenError] = asyncio.Queue()
        self.created = asyncio.Event()
        self.updated = asyncio.Event()
        self.finished = asyncio.Event()
        self.final_seen = asyncio.Event()

    def new_attempt(self) -> None:
        """Forget a connection attempt refused for a rate limit."""
        self.attempt_error = None
        self.session_id = None
        self.created.clear()
        self.updated.clear()

    def fail(self, error: QwenError) -> QwenError:
        """Record the first error, wake every waiter, and return it for raising."""
        if self.error is None and self.state is not SessionState.FINISHED:
            self.error = error
            self.state = SessionState.FAILED
            self.inbox.put_nowait(error)
            for waiter in (self.created, self.updated, self.finished, self.final_seen):
                waiter.set()
        return self.error or error

    def raise_if_failed(self) -> None:
        """Raise the error that ended the session, or say that it is closed."""
        if self.error is not None:
            raise self.error
        if self.state is SessionState.CLOSED:
            raise QwenConnectionError("The session is closed")

    async def wait(self, flag: asyncio.Event, timeout: float, what: str) -> None:
        """Wait for one of the session's events; a timeout ends the session."""
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            raise self.fail(QwenTimeoutError(f"Timed out waiting for {what}")) from None
        if self.error is not None:
            raise self.error

    @property
    def transcript(self) -> str:
        """Return all final transcripts of the session so far, joined."""
        return join_transcripts(f.transcript for f in self.finals)

    @property
    def recognized(self) -> str:
        """Return everything recognized so far.

        The final transcripts, then the latest preview of each utterance not final yet:
        what a session that ended early leaves.
        """
        previews = (partial.preview for partial in self.partials.values())
        return join_transcripts([*(f.transcript for f in self.finals), *previews])

    async def first_final(self, timeout: float) -> Final | None:
        """Wait for the service's first final transcript (server endpointing).

        Return None when the session finished without any utterance.
        """
        await self.wait(self.final_seen, timeout, "the first final transcript")
        return self.finals[0] if self.finals else None

    def all_items_final(self, commits: int) -> bool:
        """Whether every item announced, and one item per manual ``commits``, is final."""
        done = len(self.finals) + len(self.failed_items)
        return not self.open_items and not self.too_many_open and done >= commits

    def track_item(self, event: Event) -> None:
        """Note an item the service announced, or one that became final."""
        item_id = getattr(event, "item_id", None)
        if not item_id:
            return
        if isinstance(event, Final | ItemFailed):
            self.open_items.discard(item_id)
        elif len(self.open_items) < MAX_OPEN_ITEMS:
            self.open_items.add(item_id)
        elif item_id not in self.open_items:
            self.too_many_open = True

    def dropped(self, err: ConnectionClosed | None) -> QwenConnectionError:
        """Return the error for a connection that ended without ``session.finished``."""
        if err is not None and err.rcvd is not None:
            self.close_code, self.close_reason = err.rcvd.code, err.rcvd.reason
            if not self.ending and err.rcvd.code == _CLOSE_NORMAL:
                return SessionIdleError(err.rcvd.code, err.rcvd.reason)
            return QwenConnectionError(
                f"The service closed the connection (code {err.rcvd.code} {err.rcvd.reason})"
            )
        return QwenConnectionError("The connection to the service was lost")


class ServerEventReceiver:
    """Reads the socket and applies each server event to the session's results."""

    def __init__(
        self,
        results: SessionResults,
        echo: ContextEchoFilter,
        activity: Activity,
        *,
        nothing_pending: Callable[[], bool] = lambda: False,
    ):
        """Write to ``results``; ``nothing_pending`` says a drop after the end loses nothing."""
        self._results = results
        self._echo = echo
        self._activity = activity
        # After session.finish was written: whether every item is final (a drop loses nothing).
        self._nothing_pending = nothing_pending

    async def run(self, ws: ClientConnection) -> None:
        """Until ``session.finished``, a refused attempt, or the failure it records."""
        results = self._results
        try:
            async for message in ws:
                self._activity.touch()
                event = decode_message(message)
                if event is None:
                    continue
                self.handle(event)
                if isinstance(event, Finished) or results.attempt_error is not None:
                    return
            # The service closed normally but never said session.finished.
            state = ws.protocol
            closed = ConnectionClosed(
                state.close_rcvd, state.close_sent, state.close_rcvd_then_sent
            )
            self._ended_without_finished(closed)
        except ConnectionClosed as err:
            self._ended_without_finished(err)
        except QwenError as err:
            results.fail(err)

    def _ended_without_finished(self, err: ConnectionClosed | None) -> None:
        """Record the end of a connection that closed before ``session.finished``.

        It is a failure, unless the session was ended and every item is final: the
        service can drop the socket right after ``session.finish``, and nothing is lost then.
        """
        results = self._results
        if results.error is None and results.ending and self._nothing_pending():
            _LOGGER.debug("The connection ended after session.finish with every item final")
            self.handle(Finished())
            return
        results.fail(results.dropped(err))

    def handle(self, event: Event) -> None:
        """Apply one server event to the results and pass it on to the client's readers."""
        results = self._results
        item_id = getattr(event, "item_id", None)
        if item_id:
            results.last_item_id = item_id
        results.track_item(event)
        match event:
            case SessionCreated(session_id=session_id):
                results.session_id = session_id
                results.created.set()
            case SessionUpdated():
                results.updated.set()
            case SpeechStarted():
                self._echo.speech_started(event.item_id)
            case Partial():
                if self._echo.withholds(event):
                    return
                results.partials[event.item_id] = event
            case Final():
                event = self._echo.final(event)
                results.partials.pop(event.item_id, None)
                results.finals.append(event)
                results.final_seen.set()
            case ItemFailed():
                results.partials.pop(event.item_id, None)
                results.failed_items.append(event)
                _LOGGER.warning("Qwen could not transcribe an utterance: %s", event.message)
            case ErrorEvent():
                error = error_from_event(event)
                if isinstance(error, RateLimitError) and results.state is SessionState.CONNECTING:
                    results.attempt_error = error  # the client's connect retries
                    results.updated.set()
                    return
                # Every request this client sends is valid, so any error ends the session.
                results.inbox.put_nowait(event)
                results.fail(error)
                return
            case Finished():
                results.state = SessionState.FINISHED
                results.finished.set()
                results.final_seen.set()
            case SpeechStopped() | Committed():
                pass
        results.inbox.put_nowait(event)
