"""asyncio client for one Qwen3-ASR realtime recognition session.

One client object is one WebSocket session. It mirrors the official SDK's conversation
object: connect, update the session, append audio, commit, end the session (waiting or
not), close at once, and every server event as a typed async iterator.

The session's course (connect, configure, end, release) is the client's base class,
lifecycle.py; this module adds the audio going in and the events coming out. What the
service said is ``client.results`` (receiving.py), the audio going out and the
configuration it is sent for is ``client.sender`` (audio_sender.py): each piece of state
has one owner, read where it lives.

Audio may be appended before the session is ready: it is held (not sent) until the
service has confirmed the configuration, so connecting overlaps with speech. Small pieces
are joined into appends of about 100 ms, and backlogs are paced in VAD mode (audio_out.py).
``send_audio`` waits while the audio not yet written exceeds its bound, so a fast source is
slowed down instead of filling memory. A recording (its end in hand before the session is
configured, or audio arriving far faster than real time) goes in manual mode instead,
committed at its silences (recording.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
import time
from collections.abc import AsyncIterator

from websockets.asyncio.client import ClientConnection

from .audio_out import AudioConverter, AudioOptions
from .audio_sender import AudioSender
from .config import SessionConfig, Timeouts, resolve_endpoint
from .connection import ConnectionObserver, open_socket
from .const import DEFAULT_REGION, SessionState
from .echo import ContextEchoFilter
from .errors import ConfigError, ProtocolError, QwenError, QwenTimeoutError
from .events import Event, Finished
from .key_format import SecretFormatError, check_secret
from .lifecycle import SessionLifecycle
from .liveness import Activity
from .receiving import ServerEventReceiver, SessionResults
from .recording import RecordingRule
from .retry import RetryPolicy

# How often a caller waiting for room in the audio buffer looks at the session's state.
_SPACE_POLL_SECONDS = 0.25


class QwenRealtimeClient(SessionLifecycle):
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
        observer: ConnectionObserver | None = None,
    ) -> None:
        """Prepare a session; nothing connects before ``start`` or ``connect``."""
        if not api_key:
            raise ConfigError("An API key is required")
        try:
            # A key the HTTP layer would refuse makes it quote the header in its error.
            api_key = check_secret(api_key)
        except SecretFormatError as err:
            raise ConfigError(str(err)) from None
        config = config or SessionConfig()
        config.validate()
        self.audio_options = audio or AudioOptions()
        self.audio_options.validate()
        self.url = resolve_endpoint(endpoint, allow_insecure=allow_insecure)

        async def open_session_socket(model: str, timeouts: Timeouts) -> ClientConnection:
            # The key stays in this closure: no attribute, no repr holds it.
            return await open_socket(
                self.url,
                model,
                api_key,
                timeouts=timeouts,
                ssl_context=ssl_context,
                user_agent=user_agent,
                observer=observer,
            )

        results, activity = SessionResults(), Activity()
        echo = ContextEchoFilter(config.context, manual=config.manual)
        super().__init__(
            open_session_socket,
            sender=AudioSender(config, self.audio_options, activity, on_stall=self._flush_stalled),
            receiver=ServerEventReceiver(
                results, echo, activity, nothing_pending=self._nothing_pending
            ),
            results=results,
            echo=echo,
            activity=activity,
            recording=RecordingRule(self.audio_options.recordings_manual),
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
        )

    def __repr__(self) -> str:
        """Describe the session; deliberately without the API key."""
        return (
            f"<QwenRealtimeClient url={self.url!r} model={self._sender.config.model!r} "
            f"state={self._results.state.value} session_id={self._results.session_id!r}>"
        )

    # -- sending ----------------------------------------------------------------------

    def append_audio(self, pcm: bytes) -> None:
        """Queue PCM16 mono audio at the session's sample rate; never block.

        The audio is in the converter's format when one is set. In manual mode an
        utterance that reaches the service's 60 s limit is committed automatically so the
        service never rejects it.
        """
        self._check_can_append()
        batch = self._sender.coalescer.add(pcm)
        if batch:
            self._sender.queue_audio(batch)

    async def send_audio(self, pcm: bytes) -> None:
        """Queue audio like ``append_audio``, but wait for room and write directly.

        It waits while the audio not yet written is at its bound
        (``AudioOptions.max_buffered_ms``; a recording's hold, recording.py), and writes a
        full append to the socket at once when nothing is queued and no backlog is paced.
        The wait slows a source faster than the service down (a Wyoming client is then
        not read, so TCP slows it); it ends with QwenTimeoutError when the service takes
        no audio for the connect, setup and finish timeouts together. The direct write
        saves the sender task's wake-up, one event-loop iteration per append.
        """
        self._check_can_append()
        sender = self._sender
        if not sender.has_space:
            await self._wait_for_space()
        batch = sender.coalescer.add(pcm)
        if not batch:
            return
        ready = self._results.state is SessionState.READY
        message = sender.direct_append(batch) if ready else None
        if message is None:
            sender.queue_audio(batch)
            return
        await self._send_now(message)
        sender.written(len(batch))

    async def _wait_for_space(self) -> None:
        sender, timeouts = self._sender, self.timeouts
        # No progress (audio written, the mode chosen) for this long: the service is stuck.
        stall_seconds = timeouts.connect + timeouts.setup + timeouts.finish
        progress, since = (sender.audio_bytes_sent, sender.holding), time.monotonic()
        while not sender.has_space:
            self._results.raise_if_failed()
            if sender.holding:
                self._recording.hold_full = True  # no more audio until the mode is chosen
            now = (sender.audio_bytes_sent, sender.holding)
            if now != progress:
                progress, since = now, time.monotonic()
            elif time.monotonic() - since > stall_seconds:
                stalled = QwenTimeoutError(f"Qwen took no audio for {stall_seconds:g} s")
                raise self._results.fail(stalled)
            sender.space.clear()
            # Polled: a failure or the close wakes no event here, a short poll notices it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sender.space.wait(), _SPACE_POLL_SECONDS)

    def set_audio_converter(self, converter: AudioConverter | None) -> None:
        """Take audio appended from now on in the converter's input format.

        None: the session's PCM16 mono. It is converted once per append. Pending audio is
        queued first.
        """
        self._results.raise_if_failed()
        pending = self._sender.coalescer.set_converter(converter, self._sender.bytes_per_second)
        if pending:
            self._sender.queue_audio(pending)

    def _check_can_append(self) -> None:
        self._results.raise_if_failed()
        if self._finish_sent:
            raise ProtocolError("Audio appended after the session was finished")
        self._recording.audio_appended()

    def commit(self) -> bool:
        """Mark the audio so far as one utterance (manual mode); False if nothing to commit."""
        self._results.raise_if_failed()
        if not self._sender.config.manual:
            raise ConfigError("commit is only available in manual mode (server VAD is on)")
        return self._sender.commit()

    # -- receiving --------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        inbox = self._results.inbox
        while True:
            item = await inbox.get()
            if isinstance(item, QwenError):
                inbox.put_nowait(item)  # later readers see the failure too
                raise item
            yield item
            if isinstance(item, Finished):
                return

    async def next_event(self, timeout: float) -> Event:
        """Return the next server event, waiting at most ``timeout`` seconds."""
        inbox = self._results.inbox
        try:
            item = await asyncio.wait_for(inbox.get(), timeout)
        except TimeoutError:
            raise QwenTimeoutError("Timed out waiting for the service") from None
        if isinstance(item, QwenError):
            inbox.put_nowait(item)  # later readers see the failure too
            raise item
        return item

    async def __aenter__(self) -> QwenRealtimeClient:
        """Connect; close again if connecting fails."""
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the session."""
        await self.close()
