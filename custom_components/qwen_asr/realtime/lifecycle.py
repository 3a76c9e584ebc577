"""How one realtime session goes: connect, configure, end, release.

``SessionLifecycle`` is the part of QwenRealtimeClient (its subclass, client.py) that owns
the session's socket and the tasks on it: it connects in the background (a rate limit is
retried while audio stays held), configures the session in its one ``session.update`` (a
recording -- its end in hand, or audio arriving far faster than real time -- goes in manual
mode, recording.py) and reconfigures it on request, runs the receiver and the sender on the
socket, sends ``session.finish`` after the queued audio, waits for ``session.finished``
while the service stays alive, and releases the socket and every task at close.

It owns no state of another part: what the service said is ``results`` (receiving.py), the
audio going out and its configuration is ``sender`` (audio_sender.py), both read-only, as
websockets exposes its protocol object. It imports neither at run time, so the import chain
stays short (the client builds them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .const import SessionState
from .errors import ProtocolError, QwenError, QwenTimeoutError, RateLimitError
from .liveness import Activity, ServiceSilent, wait_while_alive

if TYPE_CHECKING:
    from .audio_sender import AudioSender
    from .config import SessionConfig, Timeouts
    from .echo import ContextEchoFilter
    from .events import Final
    from .receiving import ServerEventReceiver, SessionResults
    from .recording import RecordingRule
    from .retry import RetryPolicy

_LOGGER = logging.getLogger(__name__)


class SessionLifecycle:
    """The socket of one session and its tasks, from connecting to release."""

    def __init__(
        self,
        open_socket: Callable[[str, Timeouts], Awaitable[ClientConnection]],
        *,
        sender: AudioSender,
        receiver: ServerEventReceiver,
        results: SessionResults,
        echo: ContextEchoFilter,
        activity: Activity,
        recording: RecordingRule,
        timeouts: Timeouts,
        retry: RetryPolicy,
    ) -> None:
        """Hold the session's parts; nothing connects before ``start`` or ``connect``."""
        self._open_socket = open_socket  # (the model's name, timeouts) -> an open socket
        self._sender = sender
        self._receiver = receiver
        self._results = results
        self._echo = echo
        self._activity = activity
        self._recording = recording
        self.timeouts = timeouts
        self.retry = retry
        self.connect_attempts = 0  # a rate-limited one is retried per ``retry``
        # The whole audio, end included, went as a recording in manual mode (recording.py):
        # no early answer is due. A recording whose end is still to come is cut alike, but
        # may be answered early.
        self.recording = False
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connect_task: asyncio.Task[None] | None = None
        self._finish_sent = False  # the caller ended the session (session.finish is due)

    @property
    def results(self) -> SessionResults:
        """Return what the service said: state, ids, finals, partials, the error."""
        return self._results

    @property
    def sender(self) -> AudioSender:
        """Return the sending side: the configuration, the audio written, its quota."""
        return self._sender

    # -- connection -------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting in the background; audio appended meanwhile is held."""
        if self._connect_task is None:
            self._connect_task = asyncio.create_task(self._connect(), name="qwen-connect")
            # The failure is reported through append/finish; don't warn it went unretrieved.
            self._connect_task.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def connect(self) -> None:
        """Connect and configure the session; return once the service confirmed it."""
        self.start()
        assert self._connect_task is not None
        await asyncio.shield(self._connect_task)

    async def _connect(self) -> None:
        """Open the session; a rate limit is retried (audio stays held) per ``self.retry``."""
        results = self._results
        results.state = SessionState.CONNECTING
        backoff = self.retry.backoff()
        while True:
            try:
                await self._open_session()
                break
            except RateLimitError as err:
                delay = next(backoff, None)
                if delay is None:
                    raise results.fail(err) from None
                _LOGGER.warning("Qwen rate limit (%s); retrying in %.1f s", err.detail, delay)
                await self._release_connection()  # queued audio is kept for the next attempt
                self._ws = None
                results.new_attempt()
                await asyncio.sleep(delay)
        results.state = SessionState.READY
        self._sender.flush_audio()  # the held backlog goes out now, not when an append fills
        self._tasks.append(asyncio.create_task(self._send_loop(), name="qwen-send"))

    async def _open_session(self) -> None:
        self.connect_attempts += 1
        sender, results = self._sender, self._results
        try:
            self._ws = await self._open_socket(sender.config.model, self.timeouts)
        except RateLimitError:
            raise  # retried by _connect
        except QwenError as err:
            raise results.fail(err) from None
        self._tasks.append(asyncio.create_task(self._receiver.run(self._ws), name="qwen-receive"))
        fast = False
        if sender.holding and sender.config.vad is not None:
            fast = await self._recording.arrives_fast(
                lambda: sender.unsent_audio_bytes / sender.bytes_per_second
            )
        self._choose_mode(fast)
        # Sent before session.created arrives to save a round trip, as the SDK does. A
        # service that refuses the session closes at once: the receive loop reports why.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(sender.session_update()))
        await results.wait(results.updated, self.timeouts.setup, "the session to be configured")
        if results.attempt_error is not None:
            raise results.attempt_error

    def _choose_mode(self, fast: bool) -> None:
        """Choose the mode before the session's one ``session.update``.

        A recording (``fast``: its end in hand, or arriving far faster than real time) goes
        in manual mode, committed at its silences (the rule and why: recording.py).
        """
        sender, whole = self._sender, self._finish_sent
        if not sender.holding:
            return  # a retried attempt: the mode was chosen for the first one
        commits = self._recording.commits(sender.held, sender.config) if fast or whole else None
        cut_silence_ms = None
        if commits is not None:
            self.recording = whole
            vad = sender.config.vad
            assert vad is not None  # commits() is None without it
            if not whole:  # the rest is still to come: cut it as it arrives
                cut_silence_ms = vad.silence_duration_ms
            sender.config = dataclasses.replace(sender.config, vad=None)
            self._echo.manual = True
        sender.release_held(commits, cut_silence_ms=cut_silence_ms)
        if whole:
            sender.queue_finish()

    async def update_session(self, config: SessionConfig, timeout: float | None = None) -> None:
        """Change the configuration of the open session (the SDK's ``update_session``).

        Queued after any audio appended so far; return once ``session.updated`` arrived.
        """
        config.validate()
        results = self._results
        results.raise_if_failed()
        if results.state is not SessionState.READY or self._finish_sent:
            raise ProtocolError("update_session needs a connected session that is not finishing")
        results.updated.clear()
        self._sender.reconfigure(config)
        await results.wait(
            results.updated,
            self.timeouts.setup if timeout is None else timeout,
            "the session to be configured",
        )

    async def _send_loop(self) -> None:
        assert self._ws is not None
        try:
            await self._sender.run(self._ws)
        except ConnectionClosed as err:
            self._results.fail(self._results.dropped(err))

    def _flush_stalled(self) -> None:
        # The source stopped sending mid-append; held audio waits for the session instead.
        results = self._results
        if results.state is SessionState.READY and not self._finish_sent and results.error is None:
            self._sender.flush_audio()

    async def _send_now(self, message: str) -> None:
        """Write ``message`` to the open socket at once (bypassing the outbox)."""
        assert self._ws is not None
        try:
            await self._ws.send(message)
        except ConnectionClosed as err:
            raise self._results.fail(self._results.dropped(err)) from None

    # -- ending -----------------------------------------------------------------------

    def end_session_nowait(self) -> None:
        """Send ``session.finish`` (after all queued audio, once) without waiting for results."""
        self._results.raise_if_failed()
        if self._finish_sent:
            return
        sender = self._sender
        sender.flush_audio()
        self._finish_sent = True
        self._results.ending = True
        self._recording.end_in_hand.set()
        if not sender.holding:
            sender.queue_finish()
        # else the whole recording is in hand: _choose_mode queues the end with it

    def _nothing_pending(self) -> bool:
        """Tell whether the session is over but for ``session.finished``.

        True when everything queued (session.finish included) was written and every item the
        service announced, and one item per commit, is final.
        """
        sender = self._sender
        return (
            self._finish_sent
            and not sender.holding
            and sender.unsent == 0
            and self._results.all_items_final(sender.commits_queued)
        )

    async def finish(self, timeout: float | None = None) -> list[Final]:
        """End the session and wait for every final transcript and ``session.finished``.

        The wait lasts while the service stays alive, up to ``timeout`` (the finish
        timeout by default) plus the time a paced backlog still takes.
        """
        self.end_session_nowait()
        if self._connect_task is not None and not self._connect_task.done():
            await asyncio.shield(self._connect_task)
        results, sender = self._results, self._sender
        results.state = SessionState.FINISHING
        self._activity.touch()  # the silence is counted from now (or the last event)
        # A backlog still being paced out must reach the service before it can finish; the
        # send loop counts the silence from the last message it writes (finish included).
        backlog_seconds = sender.unsent_audio_bytes / sender.bytes_per_second
        try:
            await wait_while_alive(
                results.finished,
                self._activity,
                idle=self.timeouts.finish_silence,
                total=(self.timeouts.finish if timeout is None else timeout) + backlog_seconds,
            )
        except ServiceSilent as err:
            raise results.fail(QwenTimeoutError(f"Qwen stalled: {err}")) from None
        except TimeoutError:
            timed_out = QwenTimeoutError("Timed out waiting for the final transcript")
            raise results.fail(timed_out) from None
        if results.error is not None:
            raise results.error
        return list(results.finals)

    # -- shutdown ---------------------------------------------------------------------

    async def close(self) -> None:
        """Release the socket and every task at once; safe to call any number of times."""
        self._sender.close()
        connect_task = self._connect_task
        if connect_task is not None and not connect_task.done():
            connect_task.cancel()
            with contextlib.suppress(BaseException):
                await connect_task
        # Only now is the task list final: on Python 3.11, asyncio.wait_for returns its
        # result instead of raising when a cancellation races with it, so the connect task
        # may have finished (and started the send loop) despite being cancelled.
        await self._release_connection()
        if self._results.state is not SessionState.FAILED:
            self._results.state = SessionState.CLOSED

    async def _release_connection(self) -> None:
        """Stop the socket's tasks and close it (bounded by the close timeout)."""
        for task in self._tasks:
            task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), self.timeouts.close)
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
