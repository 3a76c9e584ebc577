"""The sending side of a realtime session: event ids, the ordered outbox and audio appends.

Audio is split to the service's size limit, committed automatically before a manual
utterance reaches the service's 60 s limit, and paced in VAD mode (audio_out.py). Until
the session's configuration is sent, audio is held as PCM, so that the mode can still be
chosen for it (recording.py). One task writes the outbox to the socket in order.

The audio held, queued and not yet written is bounded in bytes (``buffer_limit``):
``has_space`` tells the client whether a caller may add more, and ``space`` is set as the
socket takes audio. What was written is counted there (``audio_bytes_sent``) and may be
limited by an ``AudioQuota`` asked before each append: a refused append, and every later
one, is not written.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import ClientConnection

from .audio_out import PACED_APPEND_MS, AudioCoalescer, AudioOptions, AudioQuota, BacklogPacer
from .const import MAX_APPEND_BASE64_BYTES, MAX_MANUAL_UTTERANCE_MS, SAMPLE_WIDTH, EventType
from .recording import RECORDING_HOLD_SECONDS, RECORDING_STALL_SECONDS, SilenceCutter

if TYPE_CHECKING:
    from .config import SessionConfig
    from .liveness import Activity

# Raw PCM bytes per append so that the base64 text stays within the service's limit.
_MAX_APPEND_PCM_BYTES = (MAX_APPEND_BASE64_BYTES // 4) * 3 // SAMPLE_WIDTH * SAMPLE_WIDTH


class AudioSender:
    """Messages for the service, in the order they were queued, and the audio they carry."""

    def __init__(
        self,
        config: SessionConfig,
        options: AudioOptions,
        activity: Activity,
        on_stall: Callable[[], None],
    ) -> None:
        """Send for ``config``; ``on_stall``: the source paused mid-append."""
        # The session's configuration; the client replaces it on update_session.
        self.config = config
        self._activity = activity
        self.audio_bytes_sent = 0  # written to the socket
        self.quota: AudioQuota | None = None
        self.audio_refused = False  # the quota refused an append: no more audio is written
        self._written_uncommitted = 0  # audio written since the last commit written
        # (message, bytes of audio it carries, a commit); unsent counts what the send loop
        # holds too. Bounded through buffer_limit: callers wait for space.
        self._outbox: asyncio.Queue[tuple[str, int, bool]] = asyncio.Queue()
        self.unsent = 0
        self.unsent_audio_bytes = 0
        self._max_buffered_seconds = options.max_buffered_ms / 1000
        self.space = asyncio.Event()  # set whenever audio leaves the buffer
        # A recording whose end is still to come: cut at its silences as it arrives.
        self._cutter: SilenceCutter | None = None
        self._cut_timer: asyncio.TimerHandle | None = None
        self.coalescer = AudioCoalescer(options.coalesce_ms, self.bytes_per_second, on_stall)
        self._pacer = BacklogPacer(
            None if options.max_ahead_ms is None else options.max_ahead_ms / 1000,
        )
        self.uncommitted_bytes = 0
        self.commits_queued = 0  # each one an item the service owes a final for
        # Audio held until the session's configuration is sent (see release_held).
        self.holding = True
        self._held: list[bytes] = []  # as queued: each becomes its own append(s)
        # Event ids: a random per-session prefix and a counter (no entropy syscall per chunk).
        self._event_prefix = "event_" + uuid.uuid4().hex[:12]
        self._event_count = 0

    def limit_audio(self, quota: AudioQuota | None) -> None:
        """Ask ``quota`` before writing each append from now on.

        Once it refuses, no more audio is written (commits and the end still go).
        """
        self.quota = quota

    @property
    def bytes_per_second(self) -> int:
        """Return the PCM bytes of one second of audio at the session's sample rate."""
        return self.config.sample_rate * SAMPLE_WIDTH

    def next_event_id(self) -> str:
        """Return a new event id, unique in the session."""
        self._event_count += 1
        return f"{self._event_prefix}{self._event_count:x}"

    def session_update(self) -> dict[str, object]:
        """Return the ``session.update`` event for the current configuration."""
        return {
            "event_id": self.next_event_id(),
            "type": EventType.SESSION_UPDATE,
            "session": self.config.session_payload(),
        }

    def reconfigure(self, config: SessionConfig) -> None:
        """Queue a ``session.update`` to ``config`` after the audio so far."""
        self.flush_audio()  # the audio so far keeps the configuration it was sent for
        self.config = config
        # Appends keep their duration if the sample rate changes.
        self.coalescer.set_converter(self.coalescer.converter, self.bytes_per_second)
        self.queue(self.session_update())

    def queue_finish(self) -> None:
        """Queue ``session.finish`` (in manual mode after a commit of the audio so far)."""
        if self.config.manual:
            self.commit()
        self.queue({"event_id": self.next_event_id(), "type": EventType.SESSION_FINISH})

    def queue(self, event: dict[str, Any]) -> None:
        """Queue ``event`` after the audio appended so far."""
        self.release_held()  # audio appended earlier goes first
        self._put(json.dumps(event), 0)

    def _put(self, message: str, audio_bytes: int, commit: bool = False) -> None:
        self.unsent += 1
        self.unsent_audio_bytes += audio_bytes
        self._outbox.put_nowait((message, audio_bytes, commit))

    @property
    def buffered_audio_bytes(self) -> int:
        """Audio held, queued or pending a cut, not yet written."""
        return self.unsent_audio_bytes + (self._cutter.size if self._cutter else 0)

    @property
    def buffer_limit(self) -> int:
        """Return the bytes of audio a caller may have buffered before it waits.

        A recording's hold while the mode is open or a recording is cut, else
        ``max_buffered_ms``.
        """
        holding = self.holding or self._cutter is not None
        seconds = RECORDING_HOLD_SECONDS if holding else self._max_buffered_seconds
        return int(seconds * self.bytes_per_second)

    @property
    def has_space(self) -> bool:
        """Tell whether a caller may add audio now."""
        return self.buffered_audio_bytes < self.buffer_limit

    def queue_audio(self, pcm: bytes) -> None:
        """Queue ``pcm`` as appends (held until the mode is chosen, or cut at silences)."""
        if self.holding:
            self._held.append(pcm)
            self.unsent_audio_bytes += len(pcm)
            return
        if self._cutter is not None:
            self._cut(self._cutter.add(pcm))
            return
        self._queue_appends(pcm)

    def release_held(
        self, commits: list[bytes] | None = None, *, cut_silence_ms: int | None = None
    ) -> None:
        """Stop holding: queue the held audio as appends, or as ``commits``.

        ``commits`` are pieces of it, each committed: a recording in manual mode. With
        ``cut_silence_ms`` the recording's end is still to come: its last piece stays
        pending, to be cut at the silences of the audio that follows.
        """
        if not self.holding:
            return
        self.holding = False
        held, self._held = self._held, []
        self.unsent_audio_bytes -= sum(map(len, held))
        if commits is None:
            for batch in held:
                self._queue_appends(batch)
            return
        if cut_silence_ms is not None and commits:
            hold = int(RECORDING_HOLD_SECONDS * self.bytes_per_second)
            self._cutter = SilenceCutter(self.config.sample_rate, cut_silence_ms, hold)
            *commits, last = commits
            self._cut(self._cutter.add(last))
        for piece in commits:
            self._queue_appends(piece)
            self._queue_commit()

    @property
    def held(self) -> bytes:
        """Return the audio held until the mode is chosen."""
        return b"".join(self._held)

    def _queue_appends(self, pcm: bytes) -> None:
        step = self._max_append_bytes
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            if self.config.manual and self.uncommitted_bytes + len(piece) > self._manual_limit:
                self._queue_commit()
            self._put(self._append_message(piece), len(piece))

    def _cut(self, pieces: list[tuple[bytes, bool]]) -> None:
        """Queue a recording's pieces; what stays pending is committed if no more comes."""
        for piece, commit in pieces:
            self._queue_appends(piece)
            if commit:
                self._queue_commit()
        self._cancel_cut_timer()
        if self._cutter is not None and self._cutter.size:
            loop = asyncio.get_running_loop()
            self._cut_timer = loop.call_later(RECORDING_STALL_SECONDS, self._cut_stalled)

    def _cut_stalled(self) -> None:
        """Commit what is pending when a recording's source paused (not for want of room).

        So it is transcribed while the source stays silent.
        """
        self._cut_timer = None
        if self._cutter is None:
            return
        if not self.has_space:  # the caller waits for room: it is not the source's pause
            self._cut([])
            return
        self._cut([(piece, True) for piece in self._cutter.finish()])

    def _cancel_cut_timer(self) -> None:
        if self._cut_timer is not None:
            self._cut_timer.cancel()
            self._cut_timer = None

    def close(self) -> None:
        """Cancel the timers (the session is over)."""
        self.coalescer.close()
        self._cancel_cut_timer()

    def flush_audio(self) -> None:
        """Queue whatever audio is pending, however short."""
        pending = self.coalescer.take()
        if pending:
            self.queue_audio(pending)

    def commit(self) -> bool:
        """Queue a commit of the audio so far (manual mode). False if nothing to commit."""
        self.flush_audio()
        self.release_held()
        committed = False
        if self._cutter is not None:  # the recording's end: cut what is pending
            cutter, self._cutter = self._cutter, None
            self._cancel_cut_timer()
            for piece in cutter.finish():
                self._queue_appends(piece)
                committed = self._queue_commit() or committed
        return self._queue_commit() or committed

    def _queue_commit(self) -> bool:
        if self.uncommitted_bytes == 0:
            return False  # the service answers an empty commit with an error
        message = json.dumps({"event_id": self.next_event_id(), "type": EventType.COMMIT})
        self._put(message, 0, commit=True)
        self.uncommitted_bytes = 0
        self.commits_queued += 1
        return True

    def direct_append(self, batch: bytes) -> str | None:
        """Return the append message for ``batch`` if it may bypass the outbox, else None.

        It may when nothing queued earlier is unwritten and it needs no split, commit or
        pacing.
        """
        if not (
            self.unsent == 0  # everything queued earlier is already written
            and len(batch) <= self._max_append_bytes
            and not (
                self.config.manual and self.uncommitted_bytes + len(batch) > self._manual_limit
            )
            and self._pace_delay(len(batch)) == 0.0
            and self._cutter is None
            and self._may_write_audio()
        ):
            return None
        self._pacer.sent(len(batch) / self.bytes_per_second)
        return self._append_message(batch)

    async def run(self, ws: ClientConnection) -> None:
        """Write the outbox to the socket; ends only with ConnectionClosed or cancellation."""
        while True:
            message, audio_bytes, commit = await self._outbox.get()
            if audio_bytes:
                if not self._may_write_audio():
                    self._taken(audio_bytes)  # refused: dropped, never written
                    continue
                if (delay := self._pace_delay(audio_bytes)) > 0:
                    await asyncio.sleep(delay)
                self._pacer.sent(audio_bytes / self.bytes_per_second)
            elif commit and self._written_uncommitted == 0:
                self._taken(0)  # its audio was refused: the service errs on an empty commit
                continue
            await ws.send(message)
            self._activity.touch()  # a reply is due from here on, not from an older send
            self._taken(audio_bytes)
            if audio_bytes:
                self.written(audio_bytes)
            elif commit:
                self._written_uncommitted = 0

    def _taken(self, audio_bytes: int) -> None:
        """One message left the outbox (written or dropped)."""
        self.unsent -= 1
        self.unsent_audio_bytes -= audio_bytes
        self.space.set()

    def _may_write_audio(self) -> bool:
        """Whether the next append may be written: the quota is asked once per append."""
        if self.audio_refused:
            return False
        if self.quota is not None and not self.quota.allows():
            self.audio_refused = True
            return False
        return True

    def written(self, audio_bytes: int) -> None:
        """Count audio the socket took (the outbox's, or a direct append's)."""
        self.audio_bytes_sent += audio_bytes
        self._written_uncommitted += audio_bytes
        if self.quota is not None:
            self.quota.spent(audio_bytes / self.bytes_per_second)

    @property
    def _max_append_bytes(self) -> int:
        if self.quota is None and self.config.manual:
            # A commit may hold at most the service's 60 s: an append no longer than that
            # always fits after the commit queued before it (_queue_appends).
            return min(_MAX_APPEND_PCM_BYTES, self._manual_limit)
        if self.quota is None and self._pacer.max_ahead_seconds is None:
            return _MAX_APPEND_PCM_BYTES
        # Paced, or with a quota, which small appends overrun by one append at most.
        return PACED_APPEND_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    @property
    def _manual_limit(self) -> int:
        return MAX_MANUAL_UTTERANCE_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    def _pace_delay(self, nbytes: int) -> float:
        return 0.0 if self.config.manual else self._pacer.delay(nbytes / self.bytes_per_second)

    def _append_message(self, piece: bytes) -> str:
        self.uncommitted_bytes += len(piece)
        # Formatted by hand: base64 and event ids need no JSON escaping, and json.dumps
        # would scan all of the audio text for characters to escape.
        event_id, audio = self.next_event_id(), base64.b64encode(piece).decode("ascii")
        return f'{{"event_id":"{event_id}","type":"{EventType.APPEND}","audio":"{audio}"}}'
