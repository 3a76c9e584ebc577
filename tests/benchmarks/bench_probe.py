"""Emulator-side timestamps, keyed by the tag each benchmark request carries.

Every Wyoming request sends ``Transcribe(transcript_names=[tag])``; the server forwards it
as the session's corpus text, so the ``session.update`` hook maps an emulator session to its
request. A caller that starts requests one at a time (the HA entity benchmark) sets
``next_tag`` instead: the next session without a tag gets it. All times are
``time.monotonic()``: system-wide CLOCK_MONOTONIC on Linux, so they compare directly with
the load generator's timestamps and the server subprocess's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qwen_asr_realtime.const import EventType

from wyoming_server.emulator import SessionRecord
from wyoming_server.emulator.outbox import EventOutbox

_SETUP_EVENTS = (EventType.SESSION_CREATED, EventType.SESSION_UPDATED)


@dataclass
class SessionTimes:
    """What the emulator saw of one request."""

    record: SessionRecord
    # Cumulative audio byte offset at which an append starts -> time received.
    appends: dict[int, float] = field(default_factory=dict)
    messages: int = 0  # every client event, appends included
    updated_sent: float | None = None  # session.updated written to the socket
    finish_received: float | None = None  # session.finish (or the first commit)
    completed_sent: list[float] = field(default_factory=list)
    # (time written, audio_end_ms) of each speech_stopped: when Qwen's VAD ended speech.
    stopped_sent: list[tuple[float, int]] = field(default_factory=list)

    @property
    def audio_bytes(self) -> int:
        """All audio the emulator received (its record counts appends)."""
        return self.record.audio_bytes

    def append_spans(self) -> list[tuple[int, int, float]]:
        """(start offset, end offset, time received) of each append, in order."""
        starts = sorted(self.appends)
        ends = [*starts[1:], self.audio_bytes]
        return [(s, e, self.appends[s]) for s, e in zip(starts, ends, strict=True) if e > s]


class Probe:
    """The emulator's ``on_client_event`` / ``on_server_event`` hooks."""

    def __init__(self) -> None:
        self.by_tag: dict[str, SessionTimes] = {}
        self._tag_of: dict[str, str] = {}  # emulator session id -> request tag
        self.next_tag: str | None = None

    def _times(self, record: SessionRecord) -> SessionTimes | None:
        tag = self._tag_of.get(record.session_id)
        return None if tag is None else self.by_tag[tag]

    def on_client_event(self, record: SessionRecord, event: dict[str, Any], at: float) -> None:
        kind = event.get("type")
        if kind == EventType.SESSION_UPDATE:
            corpus = event.get("session", {}).get("input_audio_transcription", {}).get("corpus")
            text = corpus.get("text", "") if isinstance(corpus, dict) else ""
            tag = text.partition("\n")[0]  # Home Assistant may add its home context below
            if not tag and record.session_id not in self._tag_of:
                tag, self.next_tag = self.next_tag or "", None
            if tag:
                self._tag_of[record.session_id] = tag
                self.by_tag.setdefault(tag, SessionTimes(record))
        times = self._times(record)
        if times is None:
            return
        times.messages += 1
        if kind == EventType.APPEND:
            # Called before the emulator counts this append: audio_bytes is its start offset.
            times.appends[record.audio_bytes] = at
        elif kind in (EventType.SESSION_FINISH, EventType.COMMIT) and times.finish_received is None:
            times.finish_received = at

    def on_server_event(self, record: SessionRecord, event: dict[str, Any], at: float) -> None:
        times = self._times(record)
        if times is None:
            return
        kind = event.get("type")
        if kind == EventType.SESSION_UPDATED and times.updated_sent is None:
            times.updated_sent = at
        elif kind == EventType.COMPLETED:
            times.completed_sent.append(at)
        elif kind == EventType.SPEECH_STOPPED:
            times.stopped_sent.append((at, int(event.get("audio_end_ms", 0))))


@contextlib.contextmanager
def delayed_setup(delay_s: float) -> Iterator[None]:
    """Delay ``session.created`` and ``session.updated`` by ``delay_s`` each.

    With the emulator's ``handshake_delay_seconds`` this stands for a far region: the handshake
    and the first events each cost a round trip. The emulator's ``event_delay_seconds`` would
    delay every event, results too, which no client can hide; only the setup should be slow here.
    """
    original = EventOutbox.deliver

    async def deliver(self: EventOutbox, payload: dict[str, Any]) -> None:
        if payload.get("type") in _SETUP_EVENTS:
            await asyncio.sleep(delay_s)
        await original(self, payload)

    EventOutbox.deliver = deliver  # type: ignore[method-assign]
    try:
        yield
    finally:
        EventOutbox.deliver = original  # type: ignore[method-assign]
