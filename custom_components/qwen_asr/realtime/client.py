"""asyncio client for one Qwen3-ASR realtime recognition session.

One client object is one WebSocket session. It mirrors the official SDK's conversation
object: connect, update the session, append audio, commit, end the session (waiting or
not), close at once, the session id and the latest item id, and every server event as a
typed async iterator.

Audio may be appended before the session is ready: it is held (not sent) until the
service has confirmed the configuration, so connecting overlaps with speech. Small pieces
are joined into appends of about 100 ms, and backlogs are paced in VAD mode (audio_out.py).
A whole recording in hand before the session is configured goes in manual mode instead,
committed at its silences (recording.py). The sending side lives in audio_sender.py, the
receiving side in receiving.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .audio_out import AudioConverter, AudioOptions
from .audio_sender import AudioSender
from .config import SessionConfig, Timeouts, resolve_endpoint
from .connection import open_socket
from .const import DEFAULT_REGION, EventType
from .echo import ContextEchoFilter
from .errors import (
    ConfigError,
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    RateLimitError,
)
from .events import Event, Final, ItemFailed, Partial, join_transcripts
from .liveness import Activity, ServiceSilent, wait_while_alive
from .receiving import ServerEventReceiver, SessionResults, SessionState
from .recording import RecordingRule
from .retry import RetryPolicy

_LOGGER = logging.getLogger(__name__)


class QwenRealtimeClient:
    """A single streaming recognition session with Qwen3-ASR-Flash-Realtime."""

    def __init__(
        self,
        api_key: str,
        config: SessionConfig | None = None,
        *,
        endpoint: str = DEFAULT_REGION,
        timeouts: Timeouts | None = None,
        ssl_context: ssl_module.SSLContext | None = None,
        user_agent: str = "wyoming-qwen-asr",
        allow_insecure: bool = False,
        retry: RetryPolicy | None = None,
        audio: AudioOptions | None = None,
    ) -> None:
        if not api_key:
            raise ConfigError("An API key is required")
        config = config or SessionConfig()
        config.validate()
        self.audio_options = audio or AudioOptions()
        self.audio_options.validate()
        self.url = resolve_endpoint(endpoint, allow_insecure=allow_insecure)
        self.timeouts = timeouts or Timeouts()
        self._api_key = api_key
        self._ssl_context = ssl_context
        self._user_agent = user_agent
        self.retry = retry or RetryPolicy()
        self.connect_attempts = 0
        self._echo = ContextEchoFilter(config.context, manual=config.manual)
        self._activity = Activity()
        # Everything the service says, written by the receiver; read here.
        self._results = SessionResults()
        self._receiver = ServerEventReceiver(self._results, self._echo, self._activity)

        self._ws: ClientConnection | None = None
        self._sender = AudioSender(
            config, self.audio_options, self._activity, on_stall=self._flush_stalled
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._connect_task: asyncio.Task[None] | None = None
        self._recording = RecordingRule(self.audio_options.recordings_manual)
        self._finish_sent = False

    def __repr__(self) -> str:
        # Deliberately omits the API key.
        return (
            f"<QwenRealtimeClient url={self.url!r} model={self.config.model!r} "
            f"state={self.state.value} session_id={self.session_id!r}>"
        )

    @property
    def config(self) -> SessionConfig:
        """The session's configuration (replaced by ``update_session``)."""
        return self._sender.config

    @config.setter
    def config(self, config: SessionConfig) -> None:
        self._sender.config = config

    # -- what the service said (SessionResults, written by the receiver) ---------------

    @property
    def state(self) -> SessionState:
        return self._results.state

    @property
    def session_id(self) -> str | None:
        return self._results.session_id

    @property
    def last_item_id(self) -> str | None:
        return self._results.last_item_id

    @property
    def finals(self) -> list[Final]:
        return self._results.finals

    @property
    def failed_items(self) -> list[ItemFailed]:
        return self._results.failed_items

    @property
    def partials(self) -> dict[str, Partial]:
        return self._results.partials

    @property
    def close_code(self) -> int | None:
        return self._results.close_code

    @property
    def close_reason(self) -> str:
        return self._results.close_reason

    @property
    def recording(self) -> bool:
        """The whole audio was in hand before the session was configured: it went as a
        recording, in manual mode (recording.py); no early answer is due then."""
        return self._recording.recording

    @property
    def audio_bytes_sent(self) -> int:
        """PCM bytes of audio written into appends so far."""
        return self._sender.audio_bytes_sent

    # -- connection -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is SessionState.READY

    @property
    def error(self) -> QwenError | None:
        """The error that ended the session, if any."""
        return self._results.error

    def start(self) -> None:
        """Begin connecting in the background; audio appended meanwhile is held."""
        if self._connect_task is None:
            self._connect_task = asyncio.create_task(self._connect(), name="qwen-connect")
            # The failure is reported through append/finish; don't warn it went unretrieved.
            self._connect_task.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def connect(self) -> None:
        """Connect and configure the session; returns once the service confirmed it."""
        self.start()
        assert self._connect_task is not None
        await asyncio.shield(self._connect_task)

    async def _connect(self) -> None:
        """Open the session; a rate limit is retried (audio stays held) per ``self.retry``."""
        self._results.state = SessionState.CONNECTING
        backoff = self.retry.backoff()
        while True:
            try:
                await self._open_session()
                break
            except RateLimitError as err:
                delay = next(backoff, None)
                if delay is None:
                    raise self._fail(err) from None
                _LOGGER.warning("Qwen rate limit (%s); retrying in %.1f s", err.detail, delay)
                await self._discard_attempt()
                await asyncio.sleep(delay)
        self._results.state = SessionState.READY
        self._sender.flush_audio()  # the held backlog goes out now, not when an append fills
        self._tasks.append(asyncio.create_task(self._send_loop(), name="qwen-send"))

    async def _open_session(self) -> None:
        self.connect_attempts += 1
        try:
            self._ws = await open_socket(
                self.url,
                self.config.model,
                self._api_key,
                timeouts=self.timeouts,
                ssl_context=self._ssl_context,
                user_agent=self._user_agent,
            )
        except RateLimitError:
            raise  # retried by _connect
        except QwenError as err:
            raise self._fail(err) from None
        self._tasks.append(asyncio.create_task(self._receiver.run(self._ws), name="qwen-receive"))
        if self._sender.holding and not self._finish_sent and self.config.vad is not None:
            await self._recording.wait_for_end(
                self._sender.unsent_audio_bytes / self._sender.bytes_per_second
            )
        self._choose_mode()
        # Sent before session.created arrives to save a round trip, as the SDK does. A
        # service that refuses the session closes at once: the receive loop reports why.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(self._session_update()))
        await self._wait(self._results.updated, self.timeouts.setup, "the session to be configured")
        if self._results.attempt_error is not None:
            raise self._results.attempt_error

    def _choose_mode(self) -> None:
        """Before the session's one ``session.update``: a whole recording already in hand
        goes in manual mode, committed at its silences (the rule and why: recording.py)."""
        sender = self._sender
        if not sender.holding:
            return  # a retried attempt: the mode was chosen for the first one
        commits = self._recording.commits(sender.held, self.config) if self._finish_sent else None
        if commits is not None:
            self.config = dataclasses.replace(self.config, vad=None)
            self._echo.manual = True
        sender.release_held(commits)
        if self._finish_sent:
            self._queue_finish()

    async def _discard_attempt(self) -> None:
        """Forget a connection refused for a rate limit; queued audio is kept for the next."""
        await self._release_connection()
        self._ws = None
        self._results.new_attempt()

    async def update_session(self, config: SessionConfig, timeout: float | None = None) -> None:
        """Change the configuration of the open session (the SDK's ``update_session``).

        Queued after any audio appended so far; returns once ``session.updated`` arrived.
        """
        config.validate()
        self._raise_if_failed()
        if not self.ready or self._finish_sent:
            raise ProtocolError("update_session needs a connected session that is not finishing")
        self._sender.flush_audio()  # the audio so far keeps the configuration it was sent for
        self._results.updated.clear()
        self.config = config
        # Appends keep their duration if the sample rate changes.
        coalescer = self._sender.coalescer
        coalescer.set_converter(coalescer.converter, self._sender.bytes_per_second)
        self._sender.queue(self._session_update())
        await self._wait(
            self._results.updated,
            self.timeouts.setup if timeout is None else timeout,
            "the session to be configured",
        )

    # -- sending ----------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> None:
        """Queue PCM16 mono audio at the session's sample rate (or in the format of the
        converter set); never blocks.

        In manual mode an utterance that reaches the service's 60 s limit is committed
        automatically so the service never rejects it.
        """
        self._check_can_append()
        batch = self._sender.coalescer.add(pcm)
        if batch:
            self._sender.queue_audio(batch)

    async def send_audio(self, pcm: bytes) -> None:
        """Like ``append_audio``, but writes a full append to the socket at once when nothing
        is queued and no backlog is being paced.

        Saves the sender task's wake-up, one event-loop iteration per append. Waits only if
        the socket's buffer is full.
        """
        self._check_can_append()
        batch = self._sender.coalescer.add(pcm)
        if not batch:
            return
        message = self._sender.direct_append(batch) if self.ready else None
        if message is None:
            self._sender.queue_audio(batch)
            return
        assert self._ws is not None
        try:
            await self._ws.send(message)
        except ConnectionClosed as err:
            raise self._fail(self._results.dropped(err)) from None

    def set_audio_converter(self, converter: AudioConverter | None) -> None:
        """Audio appended from now on is in the converter's input format (None: the session's
        PCM16 mono); it is converted once per append. Pending audio is queued first."""
        self._raise_if_failed()
        pending = self._sender.coalescer.set_converter(converter, self._sender.bytes_per_second)
        if pending:
            self._sender.queue_audio(pending)

    def _flush_stalled(self) -> None:
        # The source stopped sending mid-append; held audio waits for the session instead.
        if self.ready and not self._finish_sent and self._results.error is None:
            self._sender.flush_audio()

    def _check_can_append(self) -> None:
        self._raise_if_failed()
        if self._finish_sent:
            raise ProtocolError("Audio appended after the session was finished")
        self._recording.audio_appended()

    def commit(self) -> bool:
        """Manual mode: mark the audio so far as one utterance. False if nothing to commit."""
        self._raise_if_failed()
        if not self.config.manual:
            raise ConfigError("commit is only available in manual mode (server VAD is on)")
        return self._sender.commit()

    def end_session_nowait(self) -> None:
        """Send ``session.finish`` (after all queued audio) without waiting for results."""
        self._raise_if_failed()
        if self._finish_sent:
            return
        self._sender.flush_audio()
        self._finish_sent = True
        self._recording.end_in_hand.set()
        if not self._sender.holding:
            self._queue_finish()
        # else the whole recording is in hand: _choose_mode queues the end with it

    def _queue_finish(self) -> None:
        if self.config.manual:
            self._sender.commit()
        self._sender.queue(
            {"event_id": self._sender.next_event_id(), "type": EventType.SESSION_FINISH}
        )

    async def finish(self, timeout: float | None = None) -> list[Final]:
        """End the session and wait for every final transcript and ``session.finished``."""
        self.end_session_nowait()
        if self._connect_task is not None and not self._connect_task.done():
            await asyncio.shield(self._connect_task)
        self._results.state = SessionState.FINISHING
        self._activity.touch()  # the silence is counted from now (or the last event)
        # A backlog still being paced out must reach the service before it can finish; the
        # send loop counts the silence from the last message it writes (finish included).
        backlog_s = self._sender.unsent_audio_bytes / self._sender.bytes_per_second
        try:
            await wait_while_alive(
                self._results.finished,
                self._activity,
                idle=self.timeouts.finish_silence,
                total=(self.timeouts.finish if timeout is None else timeout) + backlog_s,
            )
        except ServiceSilent as err:
            raise self._fail(QwenTimeoutError(f"Qwen stalled: {err}")) from None
        except TimeoutError:
            timed_out = QwenTimeoutError("Timed out waiting for the final transcript")
            raise self._fail(timed_out) from None
        if self._results.error is not None:
            raise self._results.error
        return list(self.finals)

    async def first_final(self, timeout: float) -> Final | None:
        """Wait for the service's first final transcript (server endpointing).

        Returns None when the session finished without any utterance.
        """
        await self._wait(self._results.final_seen, timeout, "the first final transcript")
        return self.finals[0] if self.finals else None

    @property
    def transcript(self) -> str:
        """All final transcripts of the session so far, joined."""
        return join_transcripts(f.transcript for f in self.finals)

    def _session_update(self) -> dict[str, object]:
        return {
            "event_id": self._sender.next_event_id(),
            "type": EventType.SESSION_UPDATE,
            "session": self.config.session_payload(),
        }

    async def _send_loop(self) -> None:
        assert self._ws is not None
        try:
            await self._sender.run(self._ws)
        except ConnectionClosed as err:
            self._fail(self._results.dropped(err))

    # -- receiving --------------------------------------------------------------------

    def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        return self._results.inbox.events()

    async def next_event(self, timeout: float) -> Event:
        """The next server event, waiting at most ``timeout`` seconds."""
        return await self._results.inbox.next_event(timeout)

    # -- failure and shutdown ---------------------------------------------------------

    def _fail(self, error: QwenError) -> QwenError:
        return self._results.fail(error)

    def _raise_if_failed(self) -> None:
        if self._results.error is not None:
            raise self._results.error
        if self.state is SessionState.CLOSED:
            raise QwenConnectionError("The session is closed")

    async def _wait(self, flag: asyncio.Event, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            raise self._fail(QwenTimeoutError(f"Timed out waiting for {what}")) from None
        if self._results.error is not None:
            raise self._results.error

    async def close(self) -> None:
        """Release the socket and every task at once; safe to call any number of times."""
        self._sender.coalescer.close()
        connect_task = self._connect_task
        if connect_task is not None and not connect_task.done():
            connect_task.cancel()
            with contextlib.suppress(BaseException):
                await connect_task
        # Only now is the task list final: on Python 3.11, asyncio.wait_for returns its
        # result instead of raising when a cancellation races with it, so the connect task
        # may have finished (and started the send loop) despite being cancelled.
        await self._release_connection()
        if self.state is not SessionState.FAILED:
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

    async def __aenter__(self) -> QwenRealtimeClient:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
