"""The sending side of a realtime session: event ids, the ordered outbox and audio appends.

Audio is split to the service's size limit, committed automatically before a manual
utterance reaches the service's 60 s limit, and paced in VAD mode (audio_out.py). Until
the session's configuration is sent, audio is held as PCM, so that the mode can still be
chosen for it (recording.py). One task writes the outbox to the socket in order.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from .audio_out import PACED_APPEND_MS, AudioCoalescer, AudioOptions, BacklogPacer
from .config import SessionConfig
from .const import MAX_APPEND_BASE64_BYTES, MAX_MANUAL_UTTERANCE_MS, SAMPLE_WIDTH, EventType
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
        # The session's configuration; the client replaces it on update_session.
        self.config = config
        self._activity = activity
        self.audio_bytes_sent = 0
        # (message, bytes of audio it carries); unsent counts what the send loop holds too.
        self._outbox: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.unsent = 0
        self.unsent_audio_bytes = 0
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

    @property
    def bytes_per_second(self) -> int:
        return self.config.sample_rate * SAMPLE_WIDTH

    def next_event_id(self) -> str:
        self._event_count += 1
        return f"{self._event_prefix}{self._event_count:x}"

    def session_update(self) -> dict[str, object]:
        """The ``session.update`` event for the current configuration."""
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
        self.release_held()  # audio appended earlier goes first
        self._put(json.dumps(event), 0)

    def _put(self, message: str, audio_bytes: int) -> None:
        self.unsent += 1
        self.unsent_audio_bytes += audio_bytes
        self._outbox.put_nowait((message, audio_bytes))

    def queue_audio(self, pcm: bytes) -> None:
        if self.holding:
            self._held.append(pcm)
            self.unsent_audio_bytes += len(pcm)
            return
        self._queue_appends(pcm)

    def release_held(self, commits: list[bytes] | None = None) -> None:
        """Stop holding: queue the held audio as appends, or as ``commits`` (pieces of it,
        each committed: a recording in manual mode)."""
        if not self.holding:
            return
        self.holding = False
        held, self._held = self._held, []
        self.unsent_audio_bytes -= sum(map(len, held))
        if commits is None:
            for batch in held:
                self._queue_appends(batch)
            return
        for piece in commits:
            self._queue_appends(piece)
            self._queue_commit()

    @property
    def held(self) -> bytes:
        return b"".join(self._held)

    def _queue_appends(self, pcm: bytes) -> None:
        step = self._max_append_bytes
        for start in range(0, len(pcm), step):
            piece = pcm[start : start + step]
            if self.config.manual and self.uncommitted_bytes + len(piece) > self._manual_limit:
                self._queue_commit()
            self._put(self._append_message(piece), len(piece))

    def flush_audio(self) -> None:
        """Queue whatever audio is pending, however short."""
        pending = self.coalescer.take()
        if pending:
            self.queue_audio(pending)

    def commit(self) -> bool:
        """Queue a commit of the audio so far (manual mode). False if nothing to commit."""
        self.flush_audio()
        self.release_held()
        return self._queue_commit()

    def _queue_commit(self) -> bool:
        if self.uncommitted_bytes == 0:
            return False  # the service answers an empty commit with an error
        self._put(json.dumps({"event_id": self.next_event_id(), "type": EventType.COMMIT}), 0)
        self.uncommitted_bytes = 0
        self.commits_queued += 1
        return True

    def direct_append(self, batch: bytes) -> str | None:
        """The append message for ``batch`` if it may bypass the outbox (nothing queued
        earlier is unwritten, no split, no commit or pacing needed); None otherwise."""
        if not (
            self.unsent == 0  # everything queued earlier is already written
            and len(batch) <= self._max_append_bytes
            and not (
                self.config.manual and self.uncommitted_bytes + len(batch) > self._manual_limit
            )
            and self._pace_delay(len(batch)) == 0.0
        ):
            return None
        self._pacer.sent(len(batch) / self.bytes_per_second)
        return self._append_message(batch)

    async def run(self, ws: ClientConnection) -> None:
        """Write the outbox to the socket; ends only with ConnectionClosed or cancellation."""
        while True:
            message, audio_bytes = await self._outbox.get()
            if audio_bytes:
                if (delay := self._pace_delay(audio_bytes)) > 0:
                    await asyncio.sleep(delay)
                self._pacer.sent(audio_bytes / self.bytes_per_second)
            await ws.send(message)
            self._activity.touch()  # a reply is due from here on, not from an older send
            self.unsent -= 1
            self.unsent_audio_bytes -= audio_bytes

    @property
    def _max_append_bytes(self) -> int:
        if self.config.manual:
            # A commit may hold at most the service's 60 s: an append no longer than that
            # always fits after the commit queued before it (_queue_appends).
            return min(_MAX_APPEND_PCM_BYTES, self._manual_limit)
        if self._pacer.max_ahead_s is None:
            return _MAX_APPEND_PCM_BYTES
        return PACED_APPEND_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    @property
    def _manual_limit(self) -> int:
        return MAX_MANUAL_UTTERANCE_MS * self.config.sample_rate // 1000 * SAMPLE_WIDTH

    def _pace_delay(self, nbytes: int) -> float:
        return 0.0 if self.config.manual else self._pacer.delay(nbytes / self.bytes_per_second)

    def _append_message(self, piece: bytes) -> str:
        self.uncommitted_bytes += len(piece)
        self.audio_bytes_sent += len(piece)
        # Formatted by hand: base64 and event ids need no JSON escaping, and json.dumps
        # would scan all of the audio text for characters to escape.
        event_id, audio = self.next_event_id(), base64.b64encode(piece).decode("ascii")
        return f'{{"event_id":"{event_id}","type":"{EventType.APPEND}","audio":"{audio}"}}'
