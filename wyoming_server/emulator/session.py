"""One emulated realtime session: the per-connection protocol state machine."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwen_asr_realtime.const import MAX_APPEND_BASE64_BYTES, MAX_MANUAL_UTTERANCE_MS, EventType
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import server_events
from .backlog import RealTimeBudget
from .ids import new_item_id
from .limits import CLOSE_TRY_AGAIN_LATER
from .pcm import FrameSplitter, duration_ms
from .recognizers import UtteranceRecognizer
from .session_config import ConfigError, merge_session_update
from .vad import EnergyVad, threshold_to_dbfs

if TYPE_CHECKING:
    from .behaviour import Behaviour, Faults
    from .recognizers import RecognizerFactory
    from .records import ClientEventHook, ServerEventHook, SessionRecord

_LOGGER = logging.getLogger(__name__)
# Key of an outbox payload (never sent): time.monotonic() before which it is not sent.
_DUE = "_due"


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What a session needs from the emulator; faults are shared and read live."""

    behaviour: Behaviour
    faults: Faults
    recognizer_factory: RecognizerFactory
    on_client_event: ClientEventHook | None
    on_server_event: ServerEventHook | None


@dataclass(slots=True)
class _Utterance:
    item_id: str
    number: int  # 1-based item number within the session
    recognizer: UtteranceRecognizer
    ms_since_partial: float = 0.0
    frozen_text: str = ""
    last_snapshot: tuple[str, str] | None = None
    partials: list[tuple[str, str]] = field(default_factory=list)


class _Dropped(Exception):
    """The drop fault aborted the transport; stop handling this connection."""


class EmulatedSession:
    def __init__(
        self,
        connection: ServerConnection,
        record: SessionRecord,
        context: SessionContext,
        *,
        model_error: str | None = None,
        rate_limit: tuple[str, str] | None = None,
    ) -> None:
        self._ws = connection
        self._record = record
        self._ctx = context
        self._model_error = model_error
        self._rate_limit = rate_limit
        self._config = record.config
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._background: set[asyncio.Task[None]] = set()
        self._sent_count = 0
        self._error_injected = False
        self._stalled = False
        self._finished = False
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
    def _faults(self) -> Faults:
        return self._ctx.faults

    # ----------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        self._spawn(self._send_loop())
        try:
            if self._rate_limit is not None:
                code, message = self._rate_limit
                self._queue(
                    server_events.error(code=code, message=message, error_type="throttling")
                )
                await self._outbox.join()
                await self._ws.close(CLOSE_TRY_AGAIN_LATER, "rate limited")
                return
            if self._faults.stall:
                self._stalled = True
            else:
                self._queue(server_events.event(EventType.SESSION_CREATED, session=self._wire()))
                if self._model_error is not None:
                    self._queue(
                        server_events.error(code="model_not_found", message=self._model_error)
                    )
                    await self._outbox.join()
                    await self._ws.close(1008, "model not found")
                    return
            await self._receive_loop()
        except _Dropped:
            pass
        finally:
            self._record.closed_at = time.monotonic()
            self._record.close_code = self._ws.close_code
            for task in self._background:
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _receive_loop(self) -> None:
        idle = self._behaviour.idle_timeout_s
        while True:
            try:
                async with asyncio.timeout(idle):
                    message = await self._ws.recv()
            except TimeoutError:
                await self._ws.close(1000, "idle timeout")
                return
            except ConnectionClosed:
                return
            await self._handle_message(message, time.monotonic())

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _wire(self) -> dict[str, Any]:
        model = self._record.model or ""
        return self._config.to_wire(session_id=self._record.session_id, model=model)

    # ----------------------------------------------------------------- sending

    def _queue(self, payload: dict[str, Any]) -> None:
        if not self._stalled:
            self._outbox.put_nowait(payload)

    async def _send_loop(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                if self._stalled:
                    continue
                await self._deliver(payload)
                limit = self._faults.error_after_events
                if limit is not None and not self._error_injected and self._sent_count >= limit:
                    self._error_injected = True
                    await self._deliver(
                        server_events.error(
                            code="internal_error",
                            message="Internal server error (injected fault).",
                            error_type="server_error",
                        )
                    )
                if payload["type"] == EventType.SESSION_FINISHED:
                    self._spawn(self._close_after_grace())
            except ConnectionClosed:
                pass
            finally:
                self._outbox.task_done()

    async def _deliver(self, payload: dict[str, Any]) -> None:
        due = payload.pop(_DUE, None)
        if due is not None and (wait := due - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        delay = self._faults.event_delay_s
        if payload["type"] in (EventType.COMPLETED, EventType.FAILED):
            delay += self._faults.completed_delay_s
        if self._finished:
            delay += self._faults.finish_event_delay_s
        if delay > 0:
            await asyncio.sleep(delay)
        await self._ws.send(json.dumps(payload))
        now = time.monotonic()
        self._sent_count += 1
        self._record.server_events.append((now, payload["type"]))
        if self._ctx.on_server_event is not None:
            self._ctx.on_server_event(self._record, payload, now)

    async def _close_after_grace(self) -> None:
        grace = self._behaviour.close_grace_s
        if grace is None:
            return
        await asyncio.sleep(grace)
        await self._ws.close(1000, "session finished")

    def _error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        client_event_id: str | None = None,
    ) -> None:
        self._queue(
            server_events.error(
                code=code, message=message, param=param, client_event_id=client_event_id
            )
        )

    # ----------------------------------------------------------------- receiving

    async def _handle_message(self, message: str | bytes, received_at: float) -> None:
        if isinstance(message, bytes):
            self._note_client_event("<binary>", {}, received_at)
            if not self._stalled:
                self._error("invalid_message", "Binary frames are not supported; send JSON text.")
            return
        try:
            payload = json.loads(message)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._note_client_event("<invalid-json>", {}, received_at)
            if not self._stalled:
                self._error("invalid_json", "The message is not a valid JSON object.")
            return
        kind = payload.get("type")
        kind_name = kind if isinstance(kind, str) else "<missing-type>"
        self._note_client_event(kind_name, payload, received_at)
        if self._stalled:
            return
        if self._faults.stall_on is not None and kind == self._faults.stall_on:
            self._stalled = True
            return
        raw_id = payload.get("event_id")
        client_event_id = raw_id if isinstance(raw_id, str) else None
        if self._finished:
            if self._behaviour.after_finish == "error":
                self._error(
                    "session_finished",
                    "The session is finished; no further events are accepted.",
                    client_event_id=client_event_id,
                )
            return
        if kind == EventType.APPEND:
            self._on_append(payload, client_event_id)
        elif kind == EventType.SESSION_UPDATE:
            self._on_session_update(payload, client_event_id)
        elif kind == EventType.COMMIT:
            self._on_commit(client_event_id)
        elif kind == EventType.SESSION_FINISH:
            self._on_finish()
        elif kind is None:
            self._error(
                "missing_required_parameter",
                "Missing required parameter: 'type'.",
                param="type",
                client_event_id=client_event_id,
            )
        else:
            self._error(
                "invalid_event",
                f"Invalid event type: '{kind}'.",
                param="type",
                client_event_id=client_event_id,
            )

    def _note_client_event(self, kind: str, payload: dict[str, Any], at: float) -> None:
        self._record.client_events.append((at, kind))
        if self._ctx.on_client_event is not None:
            without_audio = {k: v for k, v in payload.items() if k != "audio"}
            self._ctx.on_client_event(self._record, without_audio, at)

    # ----------------------------------------------------------------- session.update

    def _on_session_update(self, payload: dict[str, Any], client_event_id: str | None) -> None:
        if self._audio_seen and self._behaviour.update_after_audio == "reject":
            self._error(
                "invalid_state",
                "session.update is not allowed after audio has been appended.",
                client_event_id=client_event_id,
            )
            return
        try:
            new_config = merge_session_update(
                self._config,
                payload.get("session"),
                accept_pcm16=self._behaviour.accept_pcm16,
            )
        except ConfigError as err:
            self._error(err.code, err.message, param=err.param, client_event_id=client_event_id)
            return
        pipeline_changed = (
            new_config.sample_rate != self._config.sample_rate
            or new_config.turn_detection != self._config.turn_detection
        )
        self._config = new_config
        self._record.config = new_config
        if new_config.corpus_text:
            self._record.corpus_texts.append(new_config.corpus_text)
        if pipeline_changed:
            self._reset_audio_pipeline()
        self._queue(server_events.event(EventType.SESSION_UPDATED, session=self._wire()))

    def _reset_audio_pipeline(self) -> None:
        """(Re)build the VAD for the current config; an open utterance is discarded."""
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

    # ----------------------------------------------------------------- append

    def _on_append(self, payload: dict[str, Any], client_event_id: str | None) -> None:
        audio = payload.get("audio")
        if not isinstance(audio, str):
            self._error(
                "missing_required_parameter",
                "Missing required parameter: 'audio'.",
                param="audio",
                client_event_id=client_event_id,
            )
            return
        if len(audio) > MAX_APPEND_BASE64_BYTES:
            self._error(
                "invalid_value",
                f"The audio field exceeds the limit of {MAX_APPEND_BASE64_BYTES} bytes.",
                param="audio",
                client_event_id=client_event_id,
            )
            return
        try:
            pcm = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            self._error(
                "invalid_value",
                "The audio field is not valid base64.",
                param="audio",
                client_event_id=client_event_id,
            )
            return
        self._audio_seen = True
        self._record.audio_bytes += len(pcm)
        self._audio_ms_total += duration_ms(len(pcm), self._config.sample_rate)
        drop_at = self._faults.drop_after_audio_ms
        if drop_at is not None and self._audio_ms_total >= drop_at:
            self._record.dropped = True
            self._ws.transport.abort()
            raise _Dropped
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
            transition = self._vad.push(frame, force_silence=self._faults.silence_only)
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

    # ----------------------------------------------------------------- items

    def _new_utterance(self) -> _Utterance:
        self._items += 1
        recognizer = self._ctx.recognizer_factory(
            sample_rate=self._config.sample_rate,
            utterance_index=self._items,
            session_id=self._record.session_id,
        )
        return _Utterance(item_id=new_item_id(), number=self._items, recognizer=recognizer)

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
        copies = 2 if self._faults.duplicate_partials else 1
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
        """``completed``/``failed``, due ``finalize_delay_ms`` after the item's audio ended."""
        delay_ms = self._behaviour.finalize_delay_ms
        if delay_ms:
            payload[_DUE] = time.monotonic() + delay_ms / 1000
        self._queue(payload)

    def _finish_item(self, utterance: _Utterance, *, force_failure: str | None = None) -> None:
        transcript = utterance.recognizer.final()
        failure = force_failure
        if failure is None and self._faults.fail_item == utterance.number:
            failure = "The audio could not be transcribed (injected fault)."
        if failure is not None:
            self._queue_final(
                server_events.failed(
                    utterance.item_id, code="audio_unintelligible", message=failure
                )
            )
            return
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
        self._queue(
            server_events.event(
                EventType.SPEECH_STOPPED, audio_end_ms=audio_end_ms, item_id=utterance.item_id
            )
        )
        self._commit_item(utterance)
        self._finish_item(utterance)

    # ----------------------------------------------------------------- commit / finish

    def _on_commit(self, client_event_id: str | None) -> None:
        if not self._config.manual:
            if self._behaviour.commit_in_vad == "error":
                self._error(
                    "input_audio_buffer_commit_disabled",
                    "input_audio_buffer.commit is not allowed when server VAD is enabled.",
                    client_event_id=client_event_id,
                )
            return
        if not self._manual_buffer:
            self._error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: the buffer is empty.",
                client_event_id=client_event_id,
            )
            return
        self._commit_manual(client_event_id)

    def _commit_manual(self, client_event_id: str | None) -> None:
        audio = bytes(self._manual_buffer)
        self._manual_buffer.clear()
        utterance, self._manual_utterance = self._manual_utterance, None
        too_long = (
            self._config.input_audio_format == "pcm"
            and duration_ms(len(audio), self._config.sample_rate) > MAX_MANUAL_UTTERANCE_MS
        )
        if too_long and self._behaviour.manual_overflow == "error":
            self._error(
                "input_audio_buffer_too_long",
                f"The audio to commit exceeds {MAX_MANUAL_UTTERANCE_MS // 1000} seconds.",
                client_event_id=client_event_id,
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
        """The context-echo quirk: no speech was detected, the context comes back as text."""
        corpus = self._config.corpus_text
        if not corpus:
            return
        utterance = self._new_utterance()
        self._commit_item(utterance)
        if self._behaviour.final_refinement_partial:
            self._emit_partial(utterance, corpus, final=True)
        self._record.transcripts.append(corpus)
        self._queue(
            server_events.completed(
                utterance.item_id,
                transcript=corpus,
                language=self._language(),
                emotion=self._behaviour.emotion,
            )
        )

    def _on_finish(self) -> None:
        if self._config.manual:
            if self._manual_buffer and self._behaviour.finish_uncommitted == "commit":
                self._commit_manual(None)
        elif self._vad_utterance is not None and self._vad is not None:
            transition = self._vad.force_stop()
            self._close_vad_utterance(transition.ms)
        elif self._behaviour.context_echo and self._items == 0 and self._audio_seen:
            self._echo_context()
        self._finished = True
        self._queue(server_events.event(EventType.SESSION_FINISHED))
