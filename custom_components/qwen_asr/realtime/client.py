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
import time
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from .audio_out import AudioConverter, AudioOptions
from .audio_sender import AudioSender
from .config import SessionConfig, resolve_endpoint
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
from .event_inbox import EventInbox
from .events import Event, Final, ItemFailed, Partial
from .liveness import Activity, ServiceSilent, wait_while_alive
from .receiving import ServerEventReceiver
from .recording import RECORDING_AHEAD_S, RECORDING_END_WAIT_S, split_at_silences
from .retry import RetryPolicy
from .session_state import SessionState
from .timeouts import Timeouts
from .transcripts import join_transcripts

# Re-exported: these lived here before the client was split into modules.
__all__ = ["QwenRealtimeClient", "SessionState", "Timeouts", "join_transcripts"]

_LOGGER = logging.getLogger(__name__)


class QwenRealtimeClient(ServerEventReceiver):
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
        # A rate limit reported while connecting: ends this attempt, not the session.
        self._attempt_error: RateLimitError | None = None

        self.state = SessionState.NEW
        self.session_id: str | None = None
        self.last_item_id: str | None = None
        self.finals: list[Final] = []
        self.failed_items: list[ItemFailed] = []
        self.partials: dict[str, Partial] = {}
        self.close_code: int | None = None
        self.close_reason: str = ""
        # The whole audio was in hand before the session was configured: sent as a
        # recording, in manual mode (recording.py); no early answer is due then.
        self.recording = False

        self._ws: ClientConnection | None = None
        self._sender = AudioSender(
            config, self.audio_options, self._activity, on_stall=self._flush_stalled
        )
        self._events = EventInbox()
        self._tasks: list[asyncio.Task[None]] = []
        self._connect_task: asyncio.Task[None] | None = None
        self._created = asyncio.Event()
        self._updated = asyncio.Event()
        self._finished = asyncio.Event()
        self._final_seen = asyncio.Event()
        self._end_requested = asyncio.Event()
        self._first_audio_at: float | None = None  # time.monotonic() of the first append
        self._error: QwenError | None = None
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
        return self._error

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
        self.state = SessionState.CONNECTING
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
        self.state = SessionState.READY
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
        self._tasks.append(asyncio.create_task(self._receive_loop(), name="qwen-receive"))
        await self._wait_for_a_recordings_end()
        self._choose_mode()
        # Sent before session.created arrives to save a round trip, as the SDK does. A
        # service that refuses the session closes at once: the receive loop reports why.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(self._session_update()))
        await self._wait(self._updated, self.timeouts.setup, "the session to be configured")
        if self._attempt_error is not None:
            raise self._attempt_error

    async def _wait_for_a_recordings_end(self) -> None:
        """Audio far ahead of real time but its end not here yet: a whole file may still be
        arriving, so its end is awaited a moment before the session is configured."""
        sender = self._sender
        if not (
            sender.holding
            and not self._finish_sent
            and self.config.vad is not None
            and self.audio_options.recordings_manual
            and self._first_audio_at is not None
        ):
            return
        elapsed = time.monotonic() - self._first_audio_at
        if sender.unsent_audio_bytes / sender.bytes_per_second - elapsed < RECORDING_AHEAD_S:
            return  # live: audio arrives about as fast as it was recorded
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._end_requested.wait(), RECORDING_END_WAIT_S)

    def _choose_mode(self) -> None:
        """Before the session's one ``session.update``: a whole recording already in hand
        goes in manual mode, committed at its silences (the rule and why: recording.py)."""
        sender = self._sender
        if not sender.holding:
            return  # a retried attempt: the mode was chosen for the first one
        vad = self.config.vad
        commits = None
        if self._finish_sent and vad is not None and self.audio_options.recordings_manual:
            held = sender.held
            held_s = len(held) / sender.bytes_per_second
            commits = split_at_silences(held, self.config.sample_rate, vad.silence_duration_ms)
            if commits is None:
                _LOGGER.debug(
                    "A whole recording (%.1f s) in hand, but no speech found or more than "
                    "60 s without a silence: VAD mode, paced",
                    held_s,
                )
            else:
                _LOGGER.debug(
                    "A whole recording (%.1f s) in hand before the session was configured: "
                    "manual mode, %d commit(s) at its silences",
                    held_s,
                    len(commits),
                )
                self.config = dataclasses.replace(self.config, vad=None)
                self._echo.manual = True
                self.recording = True
        sender.release_held(commits)
        if self._finish_sent:
            self._queue_finish()

    async def _discard_attempt(self) -> None:
        """Forget a connection refused for a rate limit; queued audio is kept for the next."""
        await self._release_connection()
        self._ws = None
        self._attempt_error = None
        self.session_id = None
        self._created.clear()
        self._updated.clear()

    async def update_session(self, config: SessionConfig, timeout: float | None = None) -> None:
        """Change the configuration of the open session (the SDK's ``update_session``).

        Queued after any audio appended so far; returns once ``session.updated`` arrived.
        """
        config.validate()
        self._raise_if_failed()
        if not self.ready or self._finish_sent:
            raise ProtocolError("update_session needs a connected session that is not finishing")
        self._sender.flush_audio()  # the audio so far keeps the configuration it was sent for
        self._updated.clear()
        self.config = config
        # Appends keep their duration if the sample rate changes.
        coalescer = self._sender.coalescer
        coalescer.set_converter(coalescer.converter, self._sender.bytes_per_second)
        self._sender.queue(self._session_update())
        await self._wait(
            self._updated,
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
            raise self._fail(self._dropped(err)) from None

    def set_audio_converter(self, converter: AudioConverter | None) -> None:
        """Audio appended from now on is in the converter's input format (None: the session's
        PCM16 mono); it is converted once per append. Pending audio is queued first."""
        self._raise_if_failed()
        pending = self._sender.coalescer.set_converter(converter, self._sender.bytes_per_second)
        if pending:
            self._sender.queue_audio(pending)

    def _flush_stalled(self) -> None:
        # The source stopped sending mid-append; held audio waits for the session instead.
        if self.ready and not self._finish_sent and self._error is None:
            self._sender.flush_audio()

    def _check_can_append(self) -> None:
        self._raise_if_failed()
        if self._finish_sent:
            raise ProtocolError("Audio appended after the session was finished")
        if self._first_audio_at is None:
            self._first_audio_at = time.monotonic()

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
        self._end_requested.set()
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
        self.state = SessionState.FINISHING
        self._activity.touch()  # the silence is counted from now (or the last event)
        # A backlog still being paced out must reach the service before it can finish; the
        # send loop counts the silence from the last message it writes (finish included).
        backlog_s = self._sender.unsent_audio_bytes / self._sender.bytes_per_second
        try:
            await wait_while_alive(
                self._finished,
                self._activity,
                idle=self.timeouts.finish_silence,
                total=(self.timeouts.finish if timeout is None else timeout) + backlog_s,
            )
        except ServiceSilent as err:
            raise self._fail(QwenTimeoutError(f"Qwen stalled: {err}")) from None
        except TimeoutError:
            timed_out = QwenTimeoutError("Timed out waiting for the final transcript")
            raise self._fail(timed_out) from None
        if self._error is not None:
            raise self._error
        return list(self.finals)

    async def first_final(self, timeout: float) -> Final | None:
        """Wait for the service's first final transcript (server endpointing).

        Returns None when the session finished without any utterance.
        """
        await self._wait(self._final_seen, timeout, "the first final transcript")
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
            self._fail(self._dropped(err))

    # -- receiving --------------------------------------------------------------------

    def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        return self._events.events()

    async def next_event(self, timeout: float) -> Event:
        """The next server event, waiting at most ``timeout`` seconds."""
        return await self._events.next_event(timeout)

    # -- failure and shutdown ---------------------------------------------------------

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
        if self.state is SessionState.CLOSED:
            raise QwenConnectionError("The session is closed")

    async def _wait(self, flag: asyncio.Event, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            raise self._fail(QwenTimeoutError(f"Timed out waiting for {what}")) from None
        if self._error is not None:
            raise self._error

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
            self.state = SessionState.CLOSED

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
