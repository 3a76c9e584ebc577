"""One emulated realtime session: the per-connection protocol state machine.

It validates and answers each client event; segmentation.py turns the audio into items,
outbox.py decides how events leave (delays, injected errors, stalls, the final close).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qwen_asr_realtime import MAX_APPEND_BASE64_BYTES, EventType
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from . import server_events
from .limits import CLOSE_TRY_AGAIN_LATER
from .outbox import EventOutbox
from .pcm import duration_ms
from .segmentation import AudioSegmenter
from .session_config import ConfigError, merge_session_update

if TYPE_CHECKING:
    from .behaviour import Behaviour, Faults
    from .recognizers import RecognizerFactory
    from .records import ClientEventHook, ServerEventHook, SessionRecord


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What a session needs from the emulator; faults are shared and read live."""

    behaviour: Behaviour
    faults: Faults
    recognizer_factory: RecognizerFactory
    on_client_event: ClientEventHook | None
    on_server_event: ServerEventHook | None


class _Dropped(Exception):
    """The drop fault aborted the transport; stop handling this connection."""


class EmulatedSession:
    """One accepted connection: the client's events in, the server's events out, until it closes."""

    def __init__(
        self,
        connection: ServerConnection,
        record: SessionRecord,
        context: SessionContext,
        *,
        model_error: str | None = None,
        rate_limit: tuple[str, str] | None = None,
    ) -> None:
        """Serve ``connection``, recording into ``record``; ``context`` gives behaviour and faults.

        ``model_error`` answers a bad model after ``session.created``; ``rate_limit`` (code,
        message) refuses the session before it starts.
        """
        self._ws = connection
        self._record = record
        self._ctx = context
        self._model_error = model_error
        self._rate_limit = rate_limit
        self._config = record.config
        self._background: set[asyncio.Task[None]] = set()
        self._outbox = EventOutbox(connection, record, context, spawn=self._spawn)
        self._audio = AudioSegmenter(
            record,
            context,
            emit=self._queue,
            error=lambda code, message, event_id: self._error(
                code, message, client_event_id=event_id
            ),
        )
        self._finished = False
        self._audio_ms_total = 0.0
        self._audio_seen = False
        # The idle limit counts from the last audio (or the connection's start).
        self._last_audio = time.monotonic()

    @property
    def _behaviour(self) -> Behaviour:
        return self._ctx.behaviour

    @property
    def _stalled(self) -> bool:
        return self._outbox.stalled

    # ----------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Serve the session until the client or a fault closes it; record how it closed."""
        self._spawn(self._outbox.run())
        try:
            if self._rate_limit is not None:
                code, message = self._rate_limit
                self._queue(
                    server_events.error(code=code, message=message, error_type="throttling")
                )
                await self._outbox.drain()
                await self._ws.close(CLOSE_TRY_AGAIN_LATER, "rate limited")
                return
            if self._ctx.faults.stall:
                self._outbox.stalled = True
            else:
                session = self._wire(updated=False)
                self._queue(server_events.event(EventType.SESSION_CREATED, session=session))
                if self._model_error is not None:
                    self._queue(
                        server_events.error(code="model_not_found", message=self._model_error)
                    )
                    await self._outbox.drain()
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
        while True:
            idle = self._behaviour.idle_timeout_seconds
            remaining = None if idle is None else idle - (time.monotonic() - self._last_audio)
            try:
                async with asyncio.timeout(remaining):
                    message = await self._ws.recv()
            except TimeoutError:
                if idle is not None and time.monotonic() - self._last_audio >= idle:
                    await self._ws.close(1000, "idle timeout")
                    return
                continue  # the limit changed meanwhile
            except ConnectionClosed:
                return
            await self._handle_message(message, time.monotonic())

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _wire(self, *, updated: bool) -> dict[str, Any]:
        model = self._record.model or ""
        return self._config.to_wire(
            session_id=self._record.session_id,
            model=model,
            response_flags=updated and self._behaviour.echo_response_flags,
        )

    def _queue(self, payload: dict[str, Any]) -> None:
        self._outbox.put(payload)

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
        if self._ctx.faults.stall_on is not None and kind == self._ctx.faults.stall_on:
            self._outbox.stalled = True
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
            await self._on_finish()
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
        self._config = new_config
        self._record.config = new_config
        if new_config.corpus_text:
            self._record.corpus_texts.append(new_config.corpus_text)
        self._audio.configure(new_config)
        self._queue(
            server_events.event(EventType.SESSION_UPDATED, session=self._wire(updated=True))
        )

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
        self._last_audio = time.monotonic()
        self._record.audio_bytes += len(pcm)
        self._audio_ms_total += duration_ms(len(pcm), self._config.sample_rate)
        drop_at = self._ctx.faults.drop_after_audio_ms
        if drop_at is not None and self._audio_ms_total >= drop_at:
            self._record.dropped = True
            self._ws.transport.abort()
            raise _Dropped
        self._audio.append(pcm)

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
        if not self._audio.has_manual_audio:
            self._error(
                "input_audio_buffer_commit_empty",
                "Error committing input audio buffer: the buffer is empty.",
                client_event_id=client_event_id,
            )
            return
        self._audio.commit(client_event_id)

    async def _on_finish(self) -> None:
        drop = self._ctx.faults.drop_after_finish
        if drop == "at-once":
            # What came before session.finish is sent; the open utterance's flush is lost.
            await self._outbox.drain()
            self._outbox.stalled = True
        self._audio.finish()
        self._finished = True
        self._outbox.finished = True
        if drop is not None:
            # The socket drops before session.finished ("after-items": once the items'
            # events are written).
            await self._outbox.drain()
            self._record.dropped = True
            self._ws.transport.abort()
            raise _Dropped
        self._queue(server_events.event(EventType.SESSION_FINISHED))
