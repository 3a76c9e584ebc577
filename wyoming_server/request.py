"""One Wyoming transcription request, backed by one Qwen realtime session.

``TranscriptionRequest`` is one of the two kinds of ``request_types.Request``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from qwen_asr_realtime import (
    SAMPLE_WIDTH,
    AudioQuota,
    AuthenticationError,
    ConfigError,
    Final,
    Partial,
    ProtocolError,
    QwenConnectionError,
    QwenError,
    QwenTimeoutError,
    RateLimitError,
    ServiceError,
    SessionIdleError,
    StableText,
    join_transcripts,
)
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop

from .audio import TARGET_FORMAT, PcmConverter, PcmFormat
from .limits import Ticket
from .request_types import Emit, OnFailure
from .settings import ServerSettings

if TYPE_CHECKING:
    from qwen_asr_realtime import QwenRealtimeClient

_LOGGER = logging.getLogger(__name__)


# The Wyoming Error's code for each kind of failure: the first that matches (a timeout is
# also a connection error). The account's connection cap (ConnectionCapError, its number in
# the text) is a rate limit; the service's idle close (SessionIdleError) a timeout.
_ERROR_CODES: tuple[tuple[type[QwenError], str], ...] = (
    (AuthenticationError, "auth-failed"),
    (RateLimitError, "rate-limited"),
    (QwenTimeoutError, "timeout"),
    (QwenConnectionError, "connection-failed"),
    (ServiceError, "service-error"),
    (ProtocolError, "protocol-error"),
    (ConfigError, "bad-config"),
)


def error_code(err: QwenError) -> str:
    """Return the machine-readable code of the Wyoming ``Error`` for a failure of Qwen."""
    return next((code for kind, code in _ERROR_CODES if isinstance(err, kind)), "qwen-error")


class ChunkStream:
    """Turns Qwen's snapshots into append-only text pieces for ``TranscriptChunk``.

    Qwen repeats the whole utterance in each partial, revising it; Wyoming chunks are
    appended by the client. Only the words that have stopped changing are sent (the rule
    and why: qwen_asr_realtime.stable), and text the service later revises is never
    retracted: the final ``Transcript`` is authoritative.
    """

    def __init__(self) -> None:
        """Start with nothing sent."""
        self._finals: list[str] = []
        self._sent = ""
        self._stable = StableText()

    def partial(self, partial: Partial) -> str:
        """Return the new text to append for a partial ("" when nothing new is stable)."""
        stable_text = self._stable.update(partial)
        return self._advance(join_transcripts([*self._finals, stable_text]))

    def final(self, final: Final) -> str:
        """Return the new text to append for an utterance's final transcript."""
        self._stable.forget(final.item_id)
        self._finals.append(final.transcript)
        return self._advance(join_transcripts(self._finals))

    def _advance(self, full: str) -> str:
        if len(full) <= len(self._sent) or not full.startswith(self._sent):
            return ""
        piece = full[len(self._sent) :]
        self._sent = full
        return piece


class _QuotaWatch:
    """An ``AudioQuota`` that tells ``on_refused`` (once) when it first refuses."""

    def __init__(self, quota: AudioQuota, on_refused: Callable[[], None]) -> None:
        self._quota = quota
        self._on_refused = on_refused

    def allows(self) -> bool:
        if self._quota.allows():
            return True
        self._on_refused()  # the sender asks no more once refused
        return False

    def spent(self, seconds: float) -> None:
        self._quota.spent(seconds)


class TranscriptionRequest:
    """Streams converted audio to Qwen and writes the Wyoming results.

    Results are: TranscriptStart, TranscriptChunk per new stable text, the final
    Transcript, TranscriptStop. With server endpointing they are written as soon as Qwen
    completes the first utterance, and the session is closed; the handler then ignores
    the rest of that request's audio.

    ``feed`` waits while the audio not yet sent upstream is at its bound (the client's
    ``send_audio``), so the handler stops reading a client faster than Qwen. A request
    that reaches the daily budget (``limit_audio``) sends no more audio, finishes its Qwen
    session, answers with the transcript so far and then ``Error`` ``budget-exceeded``.
    """

    def __init__(
        self,
        settings: ServerSettings,
        client: QwenRealtimeClient,
        *,
        language: str | None,
        emit: Emit,
        on_failure: OnFailure,
    ) -> None:
        """Prepare the Qwen session of ``client`` for ``language``; ``start`` opens it."""
        self.client = client
        self.language = language
        self.answered = False
        self._early = settings.qwen_ends_requests and client.sender.config.vad is not None
        self._max_seconds = settings.max_request_seconds
        self._emit = emit
        self._on_failure = on_failure
        self._converter: PcmConverter | None = None
        self._chunks = ChunkStream()
        self._transcript_started = False
        self._detected_language: str | None = None
        self._pump: asyncio.Task[None] | None = None
        self._held: bytearray | None = bytearray() if settings.buffered else None
        # Called once when the Qwen session ends (answered early, or closed): frees the
        # request's --max-sessions slot and saves the budget's count.
        self.on_session_end: Callable[[], Awaitable[None]] | None = None
        # Called once when the request is answered or its session ends, whichever is first:
        # frees the --max-sessions slot without waiting for Qwen's close handshake.
        self.free_slot: Callable[[], None] | None = None
        self._budget_reached = False
        self._ticket: Ticket | None = None  # set by limit_audio

    @property
    def audio_seconds_sent(self) -> float:
        """Return the seconds of audio written upstream so far (what the daily budget counts)."""
        return self.client.sender.audio_bytes_sent / (
            self.client.sender.config.sample_rate * SAMPLE_WIDTH
        )

    def __repr__(self) -> str:
        """Show the session and whether it answered, never the key."""
        return f"<TranscriptionRequest {self.client!r} answered={self.answered}>"

    def limit_audio(self, ticket: Ticket) -> None:
        """Write audio upstream only while the daily budget allows it (``ticket`` counts it)."""
        self._ticket = ticket
        self.client.sender.limit_audio(_QuotaWatch(ticket, self._reached_budget))

    def _reached_budget(self) -> None:
        """End the Qwen session after what it has heard: the budget refused an append."""
        _LOGGER.warning(
            "A request reached the daily audio budget (--daily-audio-minutes): answering "
            "with the transcript so far"
        )
        self._budget_reached = True
        with contextlib.suppress(QwenError):
            self.client.end_session_nowait()

    def start(self) -> None:
        """Open the Qwen session now; audio fed meanwhile is held until it is ready."""
        self.client.start()
        self._pump = asyncio.create_task(self._pump_events(), name="qwen-results")

    def set_format(self, audio_format: PcmFormat) -> None:
        """Take the client's audio in ``audio_format``; raise AudioFormatError if not PCM."""
        if self._converter is None or self._converter.source != audio_format:
            self._converter = PcmConverter(audio_format)
            if self._held is None:
                self.client.set_audio_converter(self._converter)  # once per append

    async def feed(self, audio: bytes) -> None:
        """Send one chunk (in the format last set) on; raise QwenError once the session failed.

        The client converts it with the chunks it is joined with.
        """
        assert self._converter is not None, "set_format() comes first"
        if self._budget_reached:
            return  # the session is ending: the rest of the audio is not sent
        if self._held is not None:
            converted = self._converter.convert(audio)
            held_seconds = (len(self._held) + len(converted)) / TARGET_FORMAT.bytes_per_second
            if held_seconds > self._max_seconds:
                return  # --buffered (a benchmark's baseline): bounded, the rest is ignored
            self._held.extend(converted)
            return
        try:
            await self.client.send_audio(audio)
        except SessionIdleError as err:
            if not await self._keep_recognized(err):
                raise
        except QwenError:
            if self.answered or self._budget_reached:
                return  # answered (or ending) while this chunk waited for room
            raise

    async def finish(self) -> None:
        """End the audio: wait for every final transcript, then answer."""
        if self.answered:
            return
        if self._held:
            self.client.append_audio(bytes(self._held))
            self._held.clear()
        try:
            await self.client.finish()
        except SessionIdleError as err:
            if await self._keep_recognized(err):
                return
            raise
        if self._pump is not None:
            # The pump ends at session.finished; it only has queued events left to write.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), self.client.timeouts.close)
        await self._answer(self.client.results.transcript)

    async def close(self) -> None:
        """Release the Qwen session and the result task; safe to call repeatedly."""
        pump = self._pump
        if pump is not None and pump is not asyncio.current_task() and not pump.done():
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        await self._end_session()

    def _free_slot(self) -> None:
        free, self.free_slot = self.free_slot, None
        if free is not None:
            free()

    async def _end_session(self) -> None:
        """Close the Qwen session; the first time, call ``on_session_end``."""
        self._free_slot()
        try:
            await self.client.close()
        finally:
            callback, self.on_session_end = self.on_session_end, None
            if callback is not None:
                await callback()

    async def _pump_events(self) -> None:
        try:
            async with asyncio.timeout(self._max_seconds):
                async for event in self.client.events():
                    if isinstance(event, Partial):
                        await self._chunk(self._chunks.partial(event))
                    elif isinstance(event, Final):
                        self._detected_language = event.language or self._detected_language
                        await self._chunk(self._chunks.final(event))
                        # A recording (manual mode) is answered once all of it is final.
                        if self._early and not self.answered and not self.client.recording:
                            await self._answer(event.transcript)
                            await self._end_session()
                            return
            if self._budget_reached and self._ticket is not None and not self.answered:
                await self._answer(self.client.results.transcript)  # what Home Assistant reads
                await self._on_failure(self._ticket.refusal())  # then the reason, and close
        except QwenError as err:
            if not self.answered and not await self._keep_recognized(err):
                await self._on_failure(err)
        except TimeoutError:
            # Home Assistant reads up to the first Transcript (or Error): the text finalized
            # so far is the most useful answer; the rest of the request's audio is ignored.
            _LOGGER.warning(
                "A request reached --max-request-seconds (%g s): answering with the "
                "transcript so far and ending its Qwen session",
                self._max_seconds,
            )
            await self._answer(self.client.results.transcript)
            await self._end_session()

    async def _keep_recognized(self, err: QwenError) -> bool:
        """Answer with what Qwen recognized after it closed the session for its idle limit.

        The audio paused longer than the service allows, and the session is gone with the
        words already heard. They are the answer (the finals, then the latest preview of an
        utterance the close cut short), and the rest of the request's audio is ignored, as
        after an early answer. Why not keep the session alive by sending silence: such a
        pause is a stalled satellite or a speaker who left, not speech; silence nobody said
        would be billed and hold a session slot. With nothing recognized the request fails
        with ``timeout``. False when there is nothing to keep.
        """
        if not isinstance(err, SessionIdleError):
            return False
        return await self.answer_recognized(str(err))

    async def answer_recognized(self, why: str) -> bool:
        """Answer with what Qwen recognized so far, if anything; tell whether it did.

        For a request that cannot go on (``why``: Qwen's idle close, or the client's audio
        stopping): the finals, then the latest preview of an utterance cut short.
        """
        text = self.client.results.recognized
        if not text:
            return False
        if not self.answered:
            _LOGGER.warning("%s: answering with the %d characters recognized", why, len(text))
            await self._answer(text)
            await self._end_session()  # frees the request's session slot now
        return True

    async def _chunk(self, text: str) -> None:
        if not text or self.answered:
            return
        await self._start_transcript()
        await self._emit(TranscriptChunk(text=text).event())

    async def _start_transcript(self) -> None:
        if not self._transcript_started:
            self._transcript_started = True
            await self._emit(TranscriptStart(language=self._result_language).event())

    async def _answer(self, text: str) -> None:
        if self.answered:
            return
        self.answered = True
        self._free_slot()  # before the answer: the client may send its next request at once
        await self._start_transcript()
        _LOGGER.debug("Transcript: %r", text)
        await self._emit(Transcript(text=text, language=self._result_language).event())
        await self._emit(TranscriptStop().event())

    @property
    def _result_language(self) -> str | None:
        return self.language or self._detected_language
