"""asyncio client for one Qwen3-ASR realtime recognition session.

One client object is one WebSocket session. It mirrors the official SDK's conversation
object: connect, update the session, append audio, commit, end the session (waiting or
not), close at once, the session id and the latest item id, and every server event as a
typed async iterator.

Audio may be appended before the session is ready: it is held (not sent) until the
service has confirmed the configuration, so connecting overlaps with speech. Small pieces
are joined into appends of about 100 ms, and backlogs are paced in VAD mode (audio_out.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl as ssl_module
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from .audio_out import (
    PACED_APPEND_MS,
    AudioCoalescer,
    AudioConverter,
    AudioOptions,
    BacklogPacer,
)
from .config import SessionConfig, resolve_endpoint
from .const import (
    DEFAULT_REGION,
    MAX_APPEND_BASE64_BYTES,
    MAX_MANUAL_UTTERANCE_MS,
    SAMPLE_WIDTH,
    EventType,
)
from .echo import ContextEchoFilter
from .errors import (
    AuthenticationError,
    ConfigError,
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    RateLimitError,
    SessionRefusedError,
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
    parse_event,
)
from .liveness import Activity, ServiceSilent, wait_while_alive
from .redact import RedactingLogger
from .retry import HTTP_TOO_MANY_REQUESTS, RetryPolicy, error_from_event

_LOGGER = logging.getLogger(__name__)

# Raw PCM bytes per append so that the base64 text stays within the service's limit.
_MAX_APPEND_PCM_BYTES = (MAX_APPEND_BASE64_BYTES // 4) * 3 // SAMPLE_WIDTH * SAMPLE_WIDTH


class SessionState(StrEnum):
    """Lifecycle of a session, as the SDK's open/close notifications would report it."""

    NEW = "new"
    CONNECTING = "connecting"
    READY = "ready"
    FINISHING = "finishing"
    FINISHED = "finished"
    FAILED = "failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Every wait of the client is bounded by one of these (seconds)."""

    connect: float = 10.0  # TCP + TLS + WebSocket handshake
    setup: float = 10.0  # session.created / session.updated after the handshake
    finish: float = 20.0  # session.finish -> session.finished (the SDK's default)
    close: float = 2.0
    # After session.finish, a service silent this long has stalled (None: wait ``finish``).
    finish_silence: float | None = 3.0


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
        self.config = config or SessionConfig()
        self.config.validate()
        self.audio_options = audio or AudioOptions()
        self.audio_options.validate()
        self.url = resolve_endpoint(endpoint, allow_insecure=allow_insecure)
        self.timeouts = timeouts or Timeouts()
        self._api_key = api_key
        self._ssl_context = ssl_context
        self._user_agent = user_agent
        self.retry = retry or RetryPolicy()
        self.connect_attempts = 0
        self._echo = ContextEchoFilter(self.config.context, manual=self.config.manual)
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
        self.audio_bytes_sent = 0

        self._ws: ClientConnection | None = None
        # (message, bytes of audio it carries); _unsent counts what the send loop holds too.
        self._outbox: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self._unsent = 0
        self._unsent_audio_bytes = 0
        self._coalescer = AudioCoalescer(
            self.audio_options.coalesce_ms, self._bytes_per_second, on_stall=self._flush_stalled
        )
        self._pacer = BacklogPacer(
            None
            if self.audio_options.max_ahead_ms is None
            else self.audio_options.max_ahead_ms / 1000,
        )
        self._events: asyncio.Queue[Event | QwenError] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._connect_task: asyncio.Task[None] | None = None
        self._created = asyncio.Event()
        self._updated = asyncio.Event()
        self._finished = asyncio.Event()
        self._final_seen = asyncio.Event()
        self._error: QwenError | None = None
        self._finish_sent = False
        self._uncommitted_bytes = 0
        # Event ids: a random per-session prefix and a counter (no entropy syscall per chunk).
        self._event_prefix = "event_" + uuid.uuid4().hex[:12]
        self._event_count = 0

    def __repr__(self) -> str:
        # Deliberately omits the API key.
        return (
            f"<QwenRealtimeClient url={self.url!r} model={self.config.model!r} "
            f"state={self.state.value} session_id={self.session_id!r}>"
        )

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
        self._flush_audio()  # the held backlog goes out now, not when an append fills
        self._tasks.append(asyncio.create_task(self._send_loop(), name="qwen-send"))

    async def _open_session(self) -> None:
        self.connect_attempts += 1
        url = f"{self.url}?model={quote(self.config.model, safe='')}"
        host = urlsplit(self.url).hostname
        try:
            self._ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {self._api_key}"},
                user_agent_header=self._user_agent,
                open_timeout=self.timeouts.connect,
                close_timeout=self.timeouts.close,
                # Base64 audio barely compresses; deflate would only cost CPU on a Pi.
                compression=None,
                # True: websockets' default context, certificates and host name verified.
                # (None is refused for wss:// URIs.)
                ssl=(self._ssl_context or True) if self.url.startswith("wss://") else None,
                max_size=2**22,
                # websockets logs every handshake header at debug level, Authorization too.
                logger=RedactingLogger(logging.getLogger("websockets.client"), self._api_key),
            )
        except InvalidStatus as err:
            status = err.response.status_code
            if status in (401, 403):
                raise self._fail(AuthenticationError(status)) from None
            if status == HTTP_TOO_MANY_REQUESTS:
                raise RateLimitError(f"HTTP {status} from {host}") from None
            raise self._fail(SessionRefusedError(host, status)) from None
        except TimeoutError:
            raise self._fail(QwenTimeoutError(f"Timed out connecting to {host}")) from None
        except (OSError, WebSocketException) as err:
            raise self._fail(
                QwenConnectionError(f"Cannot connect to {host}: {type(err).__name__}: {err}")
            ) from None
        self._tasks.append(asyncio.create_task(self._receive_loop(), name="qwen-receive"))
        # Sent before session.created arrives to save a round trip, as the SDK does. A
        # service that refuses the session closes at once: the receive loop reports why.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(self._session_update()))
        await self._wait(self._updated, self.timeouts.setup, "the session to be configured")
        if self._attempt_error is not None:
            raise self._attempt_error

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
        self._flush_audio()  # the audio so far keeps the configuration it was sent for
        self._updated.clear()
        self.config = config
        # Appends keep their duration if the sample rate changes.
        self._coalescer.set_converter(self._coalescer.converter, self._bytes_per_second)
        self._queue(self._session_update())
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
        batch = self._coalescer.add(pcm)
        if batch:
            self._queue_audio(batch)

    async def send_audio(self, pcm: bytes) -> None:
        """Like ``append_audio``, but writes a full append to the socket at once when nothing
        is queued and no backlog is being paced.

        Saves the sender task's wake-up, one event-loop iteration per append. Waits only if
        the socket's buffer is full.
        """
        self._check_can_append()
        batch = self._coalescer.add(pcm)
        if not batch:
            return
        direct = (
            self.ready
            and self._unsent == 0  # everything queued earlier is already written
            and len(batch) <= self._max_append_bytes
            and not (
                self.config.manual and self._uncommitted_bytes + len(batch) > self._manual_limit
            )
            and self._pace_delay(len(batch)) == 0.0
        )
        if not direct:
            self._queue_audio(batch)
            return
        assert self._ws is not None
        self._pacer.sent(len(batch) / self._bytes_per_second)
        try:
            await self._ws.send(self._append_message(batch))
        except ConnectionClosed as err:
            raise self._fail(self._dropped(err)) from None

    def set_audio_converter(self, converter: AudioConverter | None) -> None:
        """Audio appended from now on is in the converter's input format (None: the session's
        PCM16 mono); it is converted once per append. Pending audio is queued first."""
        self._raise_if_failed()
        pending = self._coalescer.set_converter(converter, self._bytes_per_second)
        if pending:
            self._queue_audio(pending)

    @property
    def _max_append_bytes(self) -> int:
        if self.config.manual or self._pacer.max_ahead_s is None:
            return _MAX_APPEND_PCM_BYTES
        return PACED_APPEND_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    def _queue_audio(self, pcm: bytes) -> None:
        step = self._max_append_bytes
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            if self.config.manual and self._uncommitted_bytes + len(piece) > self._manual_limit:
                self.commit()
            self._put(self._append_message(piece), len(piece))

    def _flush_audio(self) -> None:
        """Queue whatever audio is pending, however short."""
        pending = self._coalescer.take()
        if pending:
            self._queue_audio(pending)

    def _flush_stalled(self) -> None:
        # The source stopped sending mid-append; held audio waits for the session instead.
        if self.ready and not self._finish_sent and self._error is None:
            self._flush_audio()

    def _pace_delay(self, nbytes: int) -> float:
        return 0.0 if self.config.manual else self._pacer.delay(nbytes / self._bytes_per_second)

    @property
    def _bytes_per_second(self) -> int:
        return self.config.sample_rate * SAMPLE_WIDTH

    def _check_can_append(self) -> None:
        self._raise_if_failed()
        if self._finish_sent:
            raise ProtocolError("Audio appended after the session was finished")

    def _append_message(self, piece: bytes) -> str:
        self._uncommitted_bytes += len(piece)
        self.audio_bytes_sent += len(piece)
        # Formatted by hand: base64 and event ids need no JSON escaping, and json.dumps
        # would scan all of the audio text for characters to escape.
        event_id, audio = self._next_event_id(), base64.b64encode(piece).decode("ascii")
        return f'{{"event_id":"{event_id}","type":"{EventType.APPEND}","audio":"{audio}"}}'

    @property
    def _manual_limit(self) -> int:
        return MAX_MANUAL_UTTERANCE_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    def commit(self) -> bool:
        """Manual mode: mark the audio so far as one utterance. False if nothing to commit."""
        self._raise_if_failed()
        if not self.config.manual:
            raise ConfigError("commit is only available in manual mode (server VAD is on)")
        self._flush_audio()
        if self._uncommitted_bytes == 0:
            return False  # the service answers an empty commit with an error
        self._queue({"event_id": self._next_event_id(), "type": EventType.COMMIT})
        self._uncommitted_bytes = 0
        return True

    def end_session_nowait(self) -> None:
        """Send ``session.finish`` (after all queued audio) without waiting for results."""
        self._raise_if_failed()
        if self._finish_sent:
            return
        self._flush_audio()
        if self.config.manual:
            self.commit()
        self._finish_sent = True
        self._queue({"event_id": self._next_event_id(), "type": EventType.SESSION_FINISH})

    async def finish(self, timeout: float | None = None) -> list[Final]:
        """End the session and wait for every final transcript and ``session.finished``."""
        self.end_session_nowait()
        if self._connect_task is not None and not self._connect_task.done():
            await asyncio.shield(self._connect_task)
        self.state = SessionState.FINISHING
        self._activity.touch()  # the silence is counted from now (or the last event)
        # A backlog still being paced out must reach the service before it can finish; the
        # send loop counts the silence from the last message it writes (finish included).
        backlog_s = self._unsent_audio_bytes / self._bytes_per_second
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

    def _session_update(self) -> dict[str, Any]:
        return {
            "event_id": self._next_event_id(),
            "type": EventType.SESSION_UPDATE,
            "session": self.config.session_payload(),
        }

    def _next_event_id(self) -> str:
        self._event_count += 1
        return f"{self._event_prefix}{self._event_count:x}"

    def _queue(self, event: dict[str, Any]) -> None:
        self._put(json.dumps(event), 0)

    def _put(self, message: str, audio_bytes: int) -> None:
        self._unsent += 1
        self._unsent_audio_bytes += audio_bytes
        self._outbox.put_nowait((message, audio_bytes))

    async def _send_loop(self) -> None:
        assert self._ws is not None
        try:
            while True:
                message, audio_bytes = await self._outbox.get()
                if audio_bytes:
                    if (delay := self._pace_delay(audio_bytes)) > 0:
                        await asyncio.sleep(delay)
                    self._pacer.sent(audio_bytes / self._bytes_per_second)
                await self._ws.send(message)
                self._activity.touch()  # a reply is due from here on, not from an older send
                self._unsent -= 1
                self._unsent_audio_bytes -= audio_bytes
        except ConnectionClosed as err:
            self._fail(self._dropped(err))

    # -- receiving --------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        while True:
            item = await self._events.get()
            if isinstance(item, QwenError):
                self._events.put_nowait(item)  # later readers see the failure too
                raise item
            yield item
            if isinstance(item, Finished):
                return

    async def next_event(self, timeout: float) -> Event:
        """The next server event, waiting at most ``timeout`` seconds."""
        try:
            item = await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            raise QwenTimeoutError("Timed out waiting for the service") from None
        if isinstance(item, QwenError):
            self._events.put_nowait(item)
            raise item
        return item

    async def _receive_loop(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                self._activity.touch()
                if isinstance(message, bytes):
                    raise ProtocolError("The service sent a binary frame")
                try:
                    data = json.loads(message)
                except ValueError:
                    raise ProtocolError("The service sent invalid JSON") from None
                event = parse_event(data)
                if event is None:
                    _LOGGER.debug("Ignoring server event %s", data.get("type"))
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
                self._events.put_nowait(event)
                self._fail(error)
                return
            case Finished():
                self.state = SessionState.FINISHED
                self._finished.set()
                self._final_seen.set()
            case SpeechStopped() | Committed():
                pass
        self._events.put_nowait(event)

    # -- failure and shutdown ---------------------------------------------------------

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
            self._events.put_nowait(error)
            for waiter in (self._created, self._updated, self._finished, self._final_seen):
                waiter.set()
        return self._error or error

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
        self._coalescer.close()
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


def join_transcripts(parts: Iterable[str]) -> str:
    """Join utterances: no separator between CJK texts, a space between others."""
    text = ""
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        if text and not (_is_cjk(text[-1]) and _is_cjk(part[0])):
            text += " "
        text += part
    return text


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
    )
