"""A transcription request that the fallback service answers when Qwen fails.

``FallbackRequest`` wraps the Qwen request (both are a ``request_types.Request``, so the
handler treats them alike) and records the client's audio from AudioStart. When Qwen fails
before its final transcript -- while connecting, streaming or finishing -- the recording is
replayed to the fallback, which then follows the live audio, and its Transcript is the
answer. If the fallback fails too, Qwen's error is what the client gets. No Qwen session
is opened at all while the circuit breaker is open, or when the gate refuses one
(--max-sessions, --daily-audio-minutes): the fallback answers at once, and if it fails,
the client gets the error or the refusal it stood in for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from qwen_asr_realtime import QwenConnectionError, QwenError
from wyoming.asr import Transcript, TranscriptStart, TranscriptStop
from wyoming.event import Event

from .audio import TARGET_FORMAT, PcmFormat
from .fallback import (
    AudioRecording,
    FallbackAnswer,
    FallbackEngine,
    FallbackError,
    FallbackSession,
    describe_failure,
    retrieve_exception,
)
from .limits import Refusal
from .request_types import Emit, Failure, OnFailure, Request
from .settings import ServerSettings

_LOGGER = logging.getLogger(__name__)

# Qwen answers about 0.3 s after the end of audio. When it has not after this long, the
# recording is replayed to the fallback (without AudioStop) while Qwen is still awaited:
# if Qwen then stalls, the fallback only has to finish, not to hear everything first.
PREPARE_FALLBACK_AFTER_SECONDS = 1.0


class FallbackRequest:
    """Qwen first; the fallback service if Qwen fails, is skipped by the breaker or refused.

    Refused by the gate, that is: no Qwen session slot, or the daily budget used up.
    """

    def __init__(
        self,
        settings: ServerSettings,
        engine: FallbackEngine,
        qwen: Callable[..., Request | Refusal],
        *,
        language: str | None,
        emit: Emit,
        on_failure: OnFailure,
    ) -> None:
        """Answer with ``qwen(emit=..., on_failure=...)``, or ``engine`` in its place.

        ``qwen`` returns the admitted Qwen request or the gate's Refusal; it is not asked
        while the breaker skips Qwen.
        """
        self._engine = engine
        self._qwen = qwen
        self._language = language
        self._emit = emit
        self._on_failure = on_failure
        self._recording = AudioRecording(settings.max_request_seconds, engine.held)
        self._primary: Request | None = None  # set by start() unless skipped
        self._session: FallbackSession | None = None
        self._prepared: FallbackSession | None = None  # replaying while Qwen finishes
        self._client_stopped = False
        self._answer: asyncio.Task[None] | None = None
        self._original_error: Failure | None = None  # what the client gets if all fails
        self._reason = ""
        self._fallback_answered = False
        self._transcript_started = False

    def __repr__(self) -> str:
        """Show which engine answers and whether it did."""
        engine = "fallback" if self._session is not None else "qwen"
        return f"<FallbackRequest engine={engine} answered={self.answered}>"

    @property
    def answered(self) -> bool:
        """Tell whether the engine answering the request wrote its transcript."""
        if self._session is not None:
            return self._fallback_answered
        return self._primary is not None and self._primary.answered

    def start(self) -> None:
        """Start Qwen, or at once the fallback.

        A request that skips Qwen holds no gate slot (the slots bound Qwen sessions) and
        counts no audio against the budget.
        """
        state = self._engine.breaker.state()
        if state.open:
            error = self._engine.last_error or QwenConnectionError(state.reason)
            reason = f"Qwen is skipped for {state.retry_in:.1f} s after: {state.reason}"
            self._use_fallback(reason, error)
            return
        qwen = self._qwen(emit=self._emit_from_qwen, on_failure=self._qwen_failed)
        if isinstance(qwen, Refusal):
            self._use_fallback(qwen.reason, qwen)  # the client gets the refusal if all fails
            return
        self._primary = qwen
        qwen.start()

    def set_format(self, audio_format: PcmFormat) -> None:
        """Take the client's audio in ``audio_format``; raise AudioFormatError if not PCM."""
        self._recording.set_format(audio_format)  # converts once, for Qwen and the fallback
        if self._session is None and self._primary is not None:
            self._primary.set_format(TARGET_FORMAT)

    async def feed(self, audio: bytes) -> None:
        """Record one chunk and send it to the engine answering."""
        converted = self._recording.add(audio)
        if self._session is None and self._primary is not None:
            try:
                await self._primary.feed(converted)
            except QwenError as err:
                if not self._switch(err):
                    raise

    async def finish(self) -> None:
        """End the audio: Qwen's answer, else the fallback's, else the original failure.

        Raise Qwen's error when the fallback does not cover it. When the fallback does not
        answer, the failure it stood in for (Qwen's error, or the gate's refusal) goes to
        ``on_failure``.
        """
        self._client_stopped = True
        if self._session is None and self._primary is not None:
            loop = asyncio.get_running_loop()
            prepare = loop.call_later(PREPARE_FALLBACK_AFTER_SECONDS, self._prepare_fallback)
            try:
                await self._primary.finish()
            except QwenError as err:
                if not self._switch(err):
                    raise
            finally:
                prepare.cancel()
            if self._session is None:
                return  # Qwen answered (if its result task failed, the fallback answers)
        self._recording.stop()
        await self._fallback_answer()

    async def answer_recognized(self, why: str) -> bool:
        """Answer with what Qwen recognized so far while Qwen is the engine; tell whether it did.

        A fallback that took over has the whole audio and answers at the end instead.
        """
        if self._session is not None or self._primary is None:
            return False
        return await self._primary.answer_recognized(why)

    async def close(self) -> None:
        """Release Qwen's session, the fallback's, the answer task and the audio held."""
        try:
            await self._close_engines()
        finally:
            self._recording.release()  # whatever failed above: the shared bound gets it back

    async def _close_engines(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done() and answer is not asyncio.current_task():
            answer.cancel()
            with contextlib.suppress(BaseException):
                await answer
        if self._prepared is not None and self._prepared is not self._session:
            await self._prepared.close()  # Qwen answered after all
        if self._session is not None:
            await self._session.close()
        if self._primary is not None:
            await self._primary.close()

    # -- Qwen's side --------------------------------------------------------------------

    async def _emit_from_qwen(self, event: Event) -> None:
        if self._session is not None:
            return  # Qwen failed: the fallback answers
        if TranscriptStart.is_type(event.type):
            self._transcript_started = True
        elif Transcript.is_type(event.type):
            self._engine.breaker.record_success()
            _LOGGER.debug("Qwen answered")
        await self._emit(event)

    async def _qwen_failed(self, err: Failure) -> None:
        """Handle the result task's failure: the fallback takes over, or the client is told.

        The client is told also when Qwen answered already: a request that reached the
        budget says so after its transcript.
        """
        if (self._session is None and self.answered) or not self._switch(err):
            await self._on_failure(err)

    def _switch(self, err: Failure) -> bool:
        """Hand the request to the fallback; False when it does not cover this failure."""
        if self._session is not None:
            return True
        if isinstance(err, Refusal):
            return False  # the budget, reached after Qwen's transcript: the client is told
        if not self._engine.covers(err):
            _LOGGER.warning(
                "Qwen rejected the API key (%s); the fallback is not used for a rejected key "
                "(--fallback-on-auth-error)",
                err,
            )
            return False
        if self._recording.overflowed:
            _LOGGER.warning(
                "Qwen failed after %s; no fallback: %s", self._recording.incomplete, err
            )
            return False
        skipped = self._engine.qwen_failed(err)
        reason = f"Qwen failed ({describe_failure(err)}); skipped for {skipped:.0f} s"
        self._use_fallback(reason, err)
        return True

    # -- the fallback's side --------------------------------------------------------------

    def _prepare_fallback(self) -> None:
        if self._session is None and self._prepared is None and not self._recording.overflowed:
            _LOGGER.debug("Qwen is slow to finish; replaying the audio to the fallback meanwhile")
            self._prepared = FallbackSession(self._engine, self._recording, self._language)
            self._prepared.start()

    def _use_fallback(self, reason: str, error: Failure) -> None:
        """Let the fallback answer; ``error`` is what the client gets if it does not."""
        self._reason = reason
        self._original_error = error
        _LOGGER.warning("Asking the fallback %s: %s", self._engine.uri, reason)
        self._session = self._prepared or FallbackSession(
            self._engine, self._recording, self._language
        )
        if self._client_stopped:
            self._recording.stop()  # AudioStop goes to the fallback now
        self._answer = asyncio.create_task(self._relay_answer(), name="qwen-fallback-answer")
        self._answer.add_done_callback(retrieve_exception)

    async def _relay_answer(self) -> None:
        """Write the fallback's transcript as soon as it comes (even before AudioStop)."""
        assert self._session is not None and self._original_error is not None
        try:
            answer = await self._session.start()
        except FallbackError as err:
            _LOGGER.warning(
                "The fallback %s failed (%s); answering the original error", self._engine.uri, err
            )
            await self._on_failure(self._original_error)
            raise
        await self._write_answer(answer)

    async def _fallback_answer(self) -> None:
        """Wait for the fallback's transcript after AudioStop, within its answer timeout.

        Else the client gets the original error (through ``on_failure``, like a refusal,
        which is a value and cannot be raised).
        """
        assert self._answer is not None and self._original_error is not None
        timeout = self._engine.answer_timeout
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._answer)
        except TimeoutError:
            _LOGGER.warning(
                "The fallback %s did not answer within %g s; answering the original error",
                self._engine.uri,
                timeout,
            )
            await self._on_failure(self._original_error)
        except FallbackError:
            pass  # _relay_answer gave the client the original error already

    async def _write_answer(self, answer: FallbackAnswer) -> None:
        self._fallback_answered = True
        _LOGGER.info(
            "The fallback %s answered (%.1f s of audio) because %s",
            self._engine.uri,
            self._recording.seconds,
            self._reason,
        )
        language = answer.language or self._language
        if not self._transcript_started:
            await self._emit(TranscriptStart(language=language).event())
        await self._emit(Transcript(text=answer.text, language=language).event())
        await self._emit(TranscriptStop().event())
