"""Segmentation and recognition: the session's audio becomes items and their events.

An energy VAD finds utterances (with prefix padding, and backlog.py's loss model when on), or
each manual commit is an item. Each item's recognizer gives partials while audio arrives and
its final result (``completed`` or ``failed``), which ``emit`` queues for the client.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwen_asr_realtime import MAX_MANUAL_UTTERANCE_MS, EventType

from . import server_events
from .backlog import RealTimeBudget
from .ids import new_item_id
from .outbox import DUE
from .pcm import FrameSplitter, duration_ms
from .recognizers import UtteranceRecognizer
from .revisions import HypothesisReviser
from .vad import EnergyVad, threshold_to_dbfs

if TYPE_CHECKING:
    from .behaviour import Behaviour
    from .records import SessionRecord
    from .session import SessionContext
    from .session_config import SessionConfig

Emit = Callable[[dict[str, Any]], None]
# (code, message, client event id): an error event for the client.
ErrorSink = Callable[[str, str, "str | None"], None]


@dataclass(slots=True)
class _Utterance:
    item_id: str
    number: int  # 1-based item number within the session
    recognizer: UtteranceRecognizer
    ms_since_partial: float = 0.0
    frozen_text: str = ""
    last_snapshot: tuple[str, str] | None = None
    partials: list[tuple[str, str]] = field(default_factory=list)
    reviser: HypothesisReviser = field(default_factory=HypothesisReviser)


class AudioSegmenter:
    """One session's audio pipeline: VAD or manual commits, recognizers, item events."""

    def __init__(
        self, record: SessionRecord, context: SessionContext, *, emit: Emit, error: ErrorSink
    ) -> None:
        """Segment the audio of session ``record`` as ``context``'s behaviour and faults say.

        ``emit`` queues a server event; ``error`` reports a client error (code, message, event id).
        """
        self._record = record
        self._ctx = context
        self._queue = emit
        self._report = error
        self._config = record.config
        self._items = 0
        self._previous_item_id: str | None = context.behaviour.first_previous_item_id
        self._audio_ms_total = 0.0
        self._audio_seen = False
        # VAD mode state
        self._vad: EnergyVad | None = None
        self._splitter: FrameSplitter | None = None
        self._preroll: deque[bytes] = deque()
        self._vad_utterance: _Utterance | None = None
        # Manual mode state
        self._manual_buffer = bytearray()
        self._manual_utterance: _Utterance | None = None
        limit = context.behaviour.vad_backlog_limit_ms
        self._backlog = None if limit is None else RealTimeBudget(limit)
        self._reset_audio_pipeline()

    @property
    def _behaviour(self) -> Behaviour:
        return self._ctx.behaviour

    @property
    def items(self) -> int:
        """The number of items (utterances) started so far."""
        return self._items

    @property
    def has_manual_audio(self) -> bool:
        """Whether manual mode holds audio not yet committed."""
        return bool(self._manual_buffer)

    def configure(self, config: SessionConfig) -> None:
        """Apply a new configuration; rebuild the pipeline if the rate or the mode changed."""
        changed = (
            config.sample_rate != self._config.sample_rate
            or config.turn_detection != self._config.turn_detection
        )
        self._config = config
        if changed:
            self._reset_audio_pipeline()

    def append(self, pcm: bytes) -> None:
        """Take the audio of an append (already validated and counted by the session)."""
        self._audio_seen = True
        self._audio_ms_total += duration_ms(len(pcm), self._config.sample_rate)
        if self._config.input_audio_format != "pcm":
            # Opus is accepted but not decoded: only manual commits produce (placeholder) items.
            if self._config.manual:
                self._manual_buffer.extend(pcm)
            return
        if self._config.manual:
            self._append_manual(pcm)
        elif self._backlog is not None:
            heard = self._backlog.admit(pcm, self._config.sample_rate, time.monotonic())
            self._record.vad_lost_ms = self._backlog.lost_ms
            self._append_vad(heard)
        else:
            self._append_vad(pcm)

    def _reset_audio_pipeline(self) -> None:
        """Build the VAD anew for the current config; an open utterance is discarded."""
        self._vad_utterance = None
        self._manual_utterance = None
        self._manual_buffer.clear()
        turn = self._config.turn_detection
        if turn is None:
            self._vad = None
            self._splitter = None
            return
        b = self._behaviour
        self._vad = EnergyVad(
            sample_rate=self._config.sample_rate,
            threshold_dbfs=threshold_to_dbfs(
                turn.threshold, at_zero=b.vad_dbfs_at_zero, per_unit=b.vad_dbfs_per_unit
            ),
            silence_ms=turn.silence_duration_ms,
            frame_ms=b.vad_frame_ms,
            min_speech_ms=b.vad_min_speech_ms,
        )
        # Offsets keep counting all audio of the session, even across a reconfiguration.
        self._vad.offset_by(round(self._audio_ms_total))
        self._splitter = FrameSplitter(self._vad.frame_bytes)
        self._preroll = deque(maxlen=max(1, b.vad_prefix_padding_ms // b.vad_frame_ms))

    def _append_manual(self, pcm: bytes) -> None:
        self._manual_buffer.extend(pcm)
        if not self._behaviour.manual_partials_before_commit:
            return
        if self._manual_utterance is None:
            self._manual_utterance = self._new_utterance()
        self._feed(self._manual_utterance, pcm)

    def _append_vad(self, pcm: bytes) -> None:
        assert self._vad is not None and self._splitter is not None
        for frame in self._splitter.push(pcm):
            transition = self._vad.push(frame, force_silence=self._ctx.faults.silence_only)
            self._preroll.append(frame)
            if transition is not None and transition.kind == "start":
                utterance = self._new_utterance()
                self._vad_utterance = utterance
                self._queue(
                    server_events.event(
                        EventType.SPEECH_STARTED,
                        audio_start_ms=transition.ms,
                        item_id=utterance.item_id,
                    )
                )
                # The recognizer hears a little audio before the onset, like a real VAD's
                # prefix padding; the current frame is already in the pre-roll.
                self._feed(utterance, b"".join(self._preroll))
            elif self._vad_utterance is not None:
                self._feed(self._vad_utterance, frame)
            if transition is not None and transition.kind == "stop":
                self._close_vad_utterance(transition.ms)

    def _new_utterance(self) -> _Utterance:
        self._items += 1
        recognizer = self._ctx.recognizer_factory(
            sample_rate=self._config.sample_rate,
            utterance_index=self._items,
            session_id=self._record.session_id,
        )
        item_id = new_item_id(dash=self._behaviour.ids_with_dash)
        return _Utterance(item_id=item_id, number=self._items, recognizer=recognizer)

    def _feed(self, utterance: _Utterance, pcm: bytes) -> None:
        """Feed audio and emit a partial every ``partial_interval_ms`` of it."""
        utterance.recognizer.feed(pcm)
        utterance.ms_since_partial += duration_ms(len(pcm), self._config.sample_rate)
        if utterance.ms_since_partial >= self._behaviour.partial_interval_ms:
            utterance.ms_since_partial = 0.0
            self._emit_partial(utterance, utterance.recognizer.partial())

    def _language(self) -> str:
        return self._config.language or self._behaviour.default_language

    def _emit_partial(self, utterance: _Utterance, hypothesis: str, *, final: bool = False) -> None:
        b = self._behaviour
        if final:
            if not hypothesis.startswith(utterance.frozen_text):
                return
            snapshot: tuple[str, str] | None = (hypothesis, "")
            if b.partial_style == "stash-only":
                snapshot = ("", hypothesis)
        else:
            if b.partial_revisions:
                hypothesis = utterance.reviser.revise(hypothesis)
            snapshot = server_events.split_snapshot(
                hypothesis,
                frozen=utterance.frozen_text,
                tentative_words=b.tentative_words,
                stash_only=b.partial_style == "stash-only",
            )
        if snapshot is None or not "".join(snapshot) or snapshot == utterance.last_snapshot:
            return
        utterance.last_snapshot = snapshot
        utterance.frozen_text = snapshot[0]
        utterance.partials.append(snapshot)
        text, stash = snapshot
        copies = 2 if self._ctx.faults.duplicate_partials else 1
        for _ in range(copies):
            self._queue(
                server_events.partial(
                    utterance.item_id,
                    text=text,
                    stash=stash,
                    language=self._language(),
                    emotion=b.emotion,
                )
            )

    def _commit_item(self, utterance: _Utterance, *, item_created: bool = True) -> None:
        self._queue(
            server_events.event(
                EventType.COMMITTED,
                previous_item_id=self._previous_item_id,
                item_id=utterance.item_id,
            )
        )
        if item_created:
            self._queue(server_events.item_created(utterance.item_id, self._previous_item_id))
        self._previous_item_id = utterance.item_id

    def _queue_final(self, payload: dict[str, Any]) -> None:
        """Queue ``completed``/``failed`` due ``finalize_delay_ms`` after the item's audio ended."""
        delay_ms = self._behaviour.finalize_delay_ms
        if delay_ms:
            payload[DUE] = time.monotonic() + delay_ms / 1000
        self._queue(payload)

    def _finish_item(self, utterance: _Utterance, *, force_failure: str | None = None) -> None:
        transcript = utterance.recognizer.final()
        failure = force_failure
        if failure is None and self._ctx.faults.fail_item == utterance.number:
            failure = "The audio could not be transcribed (injected fault)."
        if failure is not None:
            self._queue_final(
                server_events.failed(
                    utterance.item_id, code="audio_unintelligible", message=failure
                )
            )
            return
        self._complete(utterance, transcript)

    def _complete(self, utterance: _Utterance, transcript: str) -> None:
        if self._behaviour.final_refinement_partial:
            self._emit_partial(utterance, transcript, final=True)
        self._record.transcripts.append(transcript)
        self._queue_final(
            server_events.completed(
                utterance.item_id,
                transcript=transcript,
                language=self._language(),
                emotion=self._behaviour.emotion,
            )
        )

    def _close_vad_utterance(self, audio_end_ms: int) -> None:
        utterance = self._vad_utterance
        if utterance is None:
            return
        self._vad_utterance = None
        events = self._behaviour.vad_end_events
        if events != "committed-only":
            self._queue(
                server_events.event(
                    EventType.SPEECH_STOPPED, audio_end_ms=audio_end_ms, item_id=utterance.item_id
                )
            )
        if events == "stopped-only":
            self._previous_item_id = utterance.item_id
        else:
            self._commit_item(utterance, item_created=events == "documented")
        self._finish_item(utterance)

    def commit(self, client_event_id: str | None) -> None:
        """Make the buffered audio one item (manual mode's ``input_audio_buffer.commit``)."""
        audio = bytes(self._manual_buffer)
        self._manual_buffer.clear()
        utterance, self._manual_utterance = self._manual_utterance, None
        too_long = (
            self._config.input_audio_format == "pcm"
            and duration_ms(len(audio), self._config.sample_rate) > MAX_MANUAL_UTTERANCE_MS
        )
        if too_long and self._behaviour.manual_overflow == "error":
            self._report(
                "input_audio_buffer_too_long",
                f"The audio to commit exceeds {MAX_MANUAL_UTTERANCE_MS // 1000} seconds.",
                client_event_id,
            )
            return
        fed = utterance is not None
        if utterance is None:
            utterance = self._new_utterance()
        self._commit_item(utterance, item_created=self._behaviour.manual_item_created)
        if not fed:
            step = max(
                2, self._config.sample_rate * self._behaviour.partial_interval_ms // 1000 * 2
            )
            for start in range(0, len(audio), step):
                self._feed(utterance, audio[start : start + step])
        self._finish_item(
            utterance,
            force_failure="The audio exceeds the 60 second limit." if too_long else None,
        )

    def _echo_context(self) -> None:
        """Answer the context-echo quirk: no speech was detected, the context comes back as text."""
        corpus = self._config.corpus_text
        if not corpus:
            return
        utterance = self._new_utterance()
        self._commit_item(utterance)
        self._complete(utterance, corpus)

    def finish(self) -> None:
        """Answer ``session.finish``: flush the open utterance (or the uncommitted audio)."""
        if self._config.manual:
            if self._manual_buffer and self._behaviour.finish_uncommitted == "commit":
                self.commit(None)
        elif self._vad_utterance is not None and self._vad is not None:
            transition = self._vad.force_stop()
            self._close_vad_utterance(transition.ms)
        elif self._behaviour.context_echo and self._items == 0 and self._audio_seen:
            self._echo_context()
