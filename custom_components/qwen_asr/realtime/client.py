"""asyncio client for one Qwen3-ASR realtime recognition session.

One client object is one WebSocket session. It mirrors the official SDK's conversation
object: connect, update the session, append audio, commit, end the session (waiting or
not), close at once, the session id and the latest item id, and every server event as a
typed async iterator.

Audio may be appended before the session is ready: it is held (not sent) until the
service has confirmed the configuration, so connecting overlaps with speech. Small pieces
are joined into appends of about 100 ms, and backlogs are paced in VAD mode (audio_out.py).
``send_audio`` waits while the audio not yet written exceeds its bound, so a fast source is
slowed down instead of filling memory. A recording (its end in hand before the session is
configured, or audio arriving far faster than real time) goes in manual mode instead,
committed at its silences (recording.py). The session's course (connect, configure, end,
release) lives in lifecycle.py, the sending side in audio_sender.py, the receiving side in
receiving.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
import time
from collections.abc import AsyncIterator

from .audio_out import AudioConverter, AudioOptions, AudioQuota
from .config import SessionConfig, Timeouts, resolve_endpoint
from .connection import ConnectionObserver, open_socket
from .const import DEFAULT_REGION
from .echo import ContextEchoFilter
from .errors import ConfigError, ProtocolError, QwenError, QwenTimeoutError
from .events import Event, Final, ItemFailed, Partial, join_transcripts
from .key_format import SecretFormatError, check_secret
from .lifecycle import SessionLifecycle
from .liveness import Activity
from .receiving import SessionResults, SessionState
from .recording import RecordingRule
from .retry import RetryPolicy

# How often a caller waiting for room in the audio buffer looks at the session's state.
_SPACE_POLL_S = 0.25


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
        observer: ConnectionObserver | None = None,
    ) -> None:
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
        echo = ContextEchoFilter(config.context, manual=config.manual)
        activity = Activity()
        # Everything the service says, written by the receiver; read here.
        self._results = SessionResults()
        self._recording = RecordingRule(self.audio_options.recordings_manual)
        self._lifecycle = SessionLifecycle(
            # The key stays in this closure: no attribute, no repr holds it.
            lambda model, timeouts: open_socket(
                self.url,
                model,
                api_key,
                timeouts=timeouts,
                ssl_context=ssl_context,
                user_agent=user_agent,
                observer=observer,
            ),
            config=config,
            audio=self.audio_options,
            results=self._results,
            echo=echo,
            activity=activity,
            recording=self._recording,
            timeouts=timeouts or Timeouts(),
            retry=retry or RetryPolicy(),
        )
        self._sender = self._lifecycle.sender  # the outbox and the audio going out

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
        recording, in manual mode (recording.py); no early answer is due then. (Audio
        arriving far faster than real time, its end still to come, goes in manual mode too,
        but may be answered early.)"""
        return self._recording.recording

    @property
    def audio_bytes_sent(self) -> int:
        """PCM bytes of audio written to the socket so far (queued audio not included)."""
        return self._sender.audio_bytes_sent

    def limit_audio(self, quota: AudioQuota | None) -> None:
        """Ask ``quota`` before writing each append from now on.

        Once it refuses, no more audio is written (queued audio is dropped; commits and the
        end still go).
        """
        self._sender.quota = quota

    @property
    def audio_refused(self) -> bool:
        """The quota refused an append: the audio from there on was not sent."""
        return self._sender.audio_refused

    # -- connection -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is SessionState.READY

    @property
    def error(self) -> QwenError | None:
        """The error that ended the session, if any."""
        return self._results.error

    @property
    def timeouts(self) -> Timeouts:
        return self._lifecycle.timeouts

    @timeouts.setter
    def timeouts(self, timeouts: Timeouts) -> None:
        self._lifecycle.timeouts = timeouts

    @property
    def retry(self) -> RetryPolicy:
        return self._lifecycle.retry

    @retry.setter
    def retry(self, retry: RetryPolicy) -> None:
        self._lifecycle.retry = retry

    @property
    def connect_attempts(self) -> int:
        """Connection attempts so far (a rate-limited one is retried per ``retry``)."""
        return self._lifecycle.connect_attempts

    def start(self) -> None:
        """Begin connecting in the background; audio appended meanwhile is held."""
        self._lifecycle.start()

    async def connect(self) -> None:
        """Connect and configure the session; returns once the service confirmed it."""
        await self._lifecycle.connect()

    async def update_session(self, config: SessionConfig, timeout: float | None = None) -> None:
        """Change the configuration of the open session (the SDK's ``update_session``).

        Queued after any audio appended so far; returns once ``session.updated`` arrived.
        """
        config.validate()
        await self._lifecycle.update_session(config, timeout)

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
        if not self._sender.has_space:
            await self._wait_for_space()
        batch = self._sender.coalescer.add(pcm)
        if not batch:
            return
        message = self._sender.direct_append(batch) if self.ready else None
        if message is None:
            self._sender.queue_audio(batch)
            return
        await self._lifecycle.send_now(message)
        self._sender.written(len(batch))

    async def _wait_for_space(self) -> None:
        sender, timeouts = self._sender, self.timeouts
        # No progress (audio written, the mode chosen) for this long: the service is stuck.
        stall_s = timeouts.connect + timeouts.setup + timeouts.finish
        progress, since = (sender.audio_bytes_sent, sender.holding), time.monotonic()
        while not sender.has_space:
            self._results.raise_if_failed()
            if sender.holding:
                self._recording.hold_full = True  # no more audio until the mode is chosen
            now = (sender.audio_bytes_sent, sender.holding)
            if now != progress:
                progress, since = now, time.monotonic()
            elif time.monotonic() - since > stall_s:
                stalled = QwenTimeoutError(f"Qwen took no audio for {stall_s:g} s")
                raise self._results.fail(stalled)
            sender.space.clear()
            # Polled: a failure or the close wakes no event here, a short poll notices it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sender.space.wait(), _SPACE_POLL_S)

    def set_audio_converter(self, converter: AudioConverter | None) -> None:
        """Audio appended from now on is in the converter's input format (None: the session's
        PCM16 mono); it is converted once per append. Pending audio is queued first."""
        self._results.raise_if_failed()
        pending = self._sender.coalescer.set_converter(converter, self._sender.bytes_per_second)
        if pending:
            self._sender.queue_audio(pending)

    def _check_can_append(self) -> None:
        self._results.raise_if_failed()
        if self._lifecycle.finish_sent:
            raise ProtocolError("Audio appended after the session was finished")
        self._recording.audio_appended()

    def commit(self) -> bool:
        """Manual mode: mark the audio so far as one utterance. False if nothing to commit."""
        self._results.raise_if_failed()
        if not self.config.manual:
            raise ConfigError("commit is only available in manual mode (server VAD is on)")
        return self._sender.commit()

    def end_session_nowait(self) -> None:
        """Send ``session.finish`` (after all queued audio) without waiting for results."""
        self._results.raise_if_failed()
        self._lifecycle.end()

    async def finish(self, timeout: float | None = None) -> list[Final]:
        """End the session and wait for every final transcript and ``session.finished``."""
        self.end_session_nowait()
        await self._lifecycle.wait_finished(timeout)
        return list(self.finals)

    async def first_final(self, timeout: float) -> Final | None:
        """Wait for the service's first final transcript (server endpointing).

        Returns None when the session finished without any utterance.
        """
        await self._results.wait(self._results.final_seen, timeout, "the first final transcript")
        return self.finals[0] if self.finals else None

    @property
    def transcript(self) -> str:
        """All final transcripts of the session so far, joined."""
        return join_transcripts(f.transcript for f in self.finals)

    @property
    def recognized(self) -> str:
        """Return everything recognized so far.

        The final transcripts, then the latest preview of each utterance not final yet:
        what a session that ended early leaves.
        """
        previews = (partial.preview for partial in self.partials.values())
        return join_transcripts([*(f.transcript for f in self.finals), *previews])

    # -- receiving --------------------------------------------------------------------

    def events(self) -> AsyncIterator[Event]:
        """Yield server events until ``session.finished``; raise the error that ends it."""
        return self._results.inbox.events()

    async def next_event(self, timeout: float) -> Event:
        """The next server event, waiting at most ``timeout`` seconds."""
        return await self._results.inbox.next_event(timeout)

    # -- shutdown ---------------------------------------------------------------------

    async def close(self) -> None:
        """Release the socket and every task at once; safe to call any number of times."""
        self._sender.close()
        await self._lifecycle.close()

    async def __aenter__(self) -> QwenRealtimeClient:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
