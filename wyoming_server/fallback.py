"""A second Wyoming ASR service that answers when Qwen fails (``--fallback-uri``).

``AudioRecording`` keeps a request's audio from AudioStart, converted to 16 kHz mono (bounded
in those bytes by the request limit, whatever format the client declared, and by
``HeldAudio``, the bound of all requests' recordings together);
``FallbackSession`` replays it to the fallback -- ``Transcribe`` with the request's
language, ``AudioStart``, the chunks, ``AudioStop`` once the client sent it -- and follows
the recording live for audio that is still coming. ``FallbackEngine`` is the configuration
shared by every request, with the circuit breaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from qwen_asr_realtime import AuthenticationError, CircuitBreaker, QwenError
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event

from .access import ThrottledLog
from .audio import TARGET_FORMAT, PcmConverter, PcmFormat
from .wire import WireError, read_event

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT_SECONDS = 2.0
DEFAULT_ANSWER_TIMEOUT_SECONDS = 15.0
WRITE_TIMEOUT_SECONDS = 10.0
# A replayed backlog goes out in pieces of at most this much audio.
REPLAY_PIECE_SECONDS = 0.5
# The audio all requests together hold for the fallback: 2000 s at 32 kB a second is 64 MB,
# a Pi's share, and more than six requests of the longest kind.
DEFAULT_MAX_HELD_SECONDS = 2000.0
# Under a flood every request would say it: one warning a minute.
_HELD_FULL_LOG = ThrottledLog(logger=_LOGGER)
# What a recording that stopped holding audio says, in "Qwen failed after ...".
REQUEST_LIMIT = "the request limit"
HELD_LIMIT = "the fallback's memory bound (--fallback-max-held-seconds)"


class FallbackError(Exception):
    """The fallback did not answer with a transcript; the message says why."""


def describe_failure(err: QwenError) -> str:
    """Describe a failure in one line for the log, ``health`` and the breaker: its kind and text."""
    return f"{type(err).__name__}: {err}"


class HeldAudio:
    """Count the bytes all requests' recordings hold for the fallback, within one bound."""

    def __init__(self, max_seconds: float = DEFAULT_MAX_HELD_SECONDS) -> None:
        """Allow ``max_seconds`` of 16 kHz mono audio in all."""
        self.max_bytes = int(max_seconds * TARGET_FORMAT.bytes_per_second)
        self.size = 0

    def take(self, size: int) -> bool:
        """Count ``size`` more bytes; False, counting nothing, when they pass the bound."""
        if self.size + size > self.max_bytes:
            return False
        self.size += size
        return True

    def give_back(self, size: int) -> None:
        """Count ``size`` bytes as released."""
        self.size -= size


@dataclass(slots=True)
class FallbackEngine:
    """Where the fallback is, how long to wait for it, and when Qwen is skipped."""

    host: str
    port: int
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS
    answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_SECONDS
    on_auth_error: bool = False
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    # The failure that opened the circuit: what a skipped request answers if the fallback
    # fails too.
    last_error: QwenError | None = None
    # The recordings of all requests together (--fallback-max-held-seconds).
    held: HeldAudio = field(default_factory=HeldAudio)

    @property
    def uri(self) -> str:
        """The fallback's Wyoming address, IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"

    def covers(self, err: QwenError) -> bool:
        """Tell whether the fallback answers after ``err``: a rejected key only when asked to.

        A rejected key is no outage, so by default the client hears the authentication error.
        """
        return self.on_auth_error or not isinstance(err, AuthenticationError)

    def qwen_failed(self, err: QwenError) -> float:
        """Record the failure; returns how long Qwen is skipped from now on."""
        self.last_error = err
        return self.breaker.record_failure(describe_failure(err))

    def in_use(self, *, budget_used_up: bool = False) -> str:
        """Return which engine new requests use, for ``health`` (the Info description)."""
        if budget_used_up:  # the gate refuses Qwen until midnight UTC, whatever the breaker
            return f"fallback {self.uri} (the daily audio budget for Qwen is used up)"
        state = self.breaker.state()
        if not state.open:
            return f"Qwen (fallback {self.uri} ready)"
        return (
            f"fallback {self.uri}, Qwen tried again in {state.retry_in:.0f} s "
            f"(Qwen failed: {state.reason})"
        )


class AudioRecording:
    """A request's audio, converted to 16 kHz mono, in order, up to ``max_seconds`` of it.

    Bounded in bytes after conversion: a client declaring 384 kHz, 4 bytes and 32 channels
    is held at 32 kB a second like any other. The fallback hears it in that format. The
    bytes also count against ``held``, shared by all requests, until ``release``.
    """

    def __init__(self, max_seconds: float, held: HeldAudio | None = None) -> None:
        """Hold up to ``max_seconds`` of audio, counted in the 16 kHz mono it is converted to."""
        self.max_bytes = int(max_seconds * TARGET_FORMAT.bytes_per_second)
        self.format: PcmFormat | None = None  # what the fallback is sent: TARGET_FORMAT
        self.pieces: list[tuple[PcmFormat, bytes]] = []
        self.size = 0
        self.stopped = False
        # Which bound dropped audio (REQUEST_LIMIT or HELD_LIMIT); the fallback would not
        # hear it all. Empty while every piece is held.
        self.incomplete = ""
        self.changed = asyncio.Event()
        self._converter: PcmConverter | None = None
        self._held = held

    @property
    def overflowed(self) -> bool:
        """Tell whether audio was dropped, so that the fallback would not hear it all."""
        return bool(self.incomplete)

    @property
    def seconds(self) -> float:
        """Return the seconds of audio held."""
        return self.size / TARGET_FORMAT.bytes_per_second

    def set_format(self, audio_format: PcmFormat) -> None:
        """Set the client's format from now on (AudioFormatError if it is not PCM)."""
        if self._converter is None or self._converter.source != audio_format:
            self._converter = PcmConverter(audio_format)
        self.format = TARGET_FORMAT
        self.changed.set()

    def add(self, audio: bytes) -> bytes:
        """Convert ``audio`` and keep it while within the bound; returns it converted."""
        assert self._converter is not None, "set_format() comes first"
        converted = self._converter.convert(audio)
        if not converted or self.overflowed:
            return converted
        if self.size + len(converted) > self.max_bytes:
            self.incomplete = REQUEST_LIMIT
            return converted
        if self._held is not None and not self._held.take(len(converted)):
            self.incomplete = HELD_LIMIT
            _HELD_FULL_LOG.warning(
                "held", "Audio for the fallback stops at %.1f s of a request: %s is reached",
                self.seconds, HELD_LIMIT,
            )  # fmt: skip
            return converted
        self.size += len(converted)
        self.pieces.append((TARGET_FORMAT, converted))
        self.changed.set()
        return converted

    def stop(self) -> None:
        """Mark the recording complete: the replay ends with AudioStop after the audio held."""
        self.stopped = True
        self.changed.set()

    def release(self) -> None:
        """Drop the audio held and give its bytes back to ``held`` (the request is over)."""
        if self._held is not None:
            self._held.give_back(self.size)
            self._held = None
        self.pieces.clear()
        self.size = 0

    def joined(self, index: int) -> tuple[PcmFormat, bytes, int]:
        """Return pieces from ``index`` on, joined while the format stays the same (bounded).

        The third value is the index of the first piece not joined.
        """
        audio_format, first = self.pieces[index]
        limit = int(audio_format.bytes_per_second * REPLAY_PIECE_SECONDS)
        parts = [first]
        size = len(first)
        index += 1
        while index < len(self.pieces) and size < limit:
            next_format, audio = self.pieces[index]
            if next_format != audio_format:
                break
            parts.append(audio)
            size += len(audio)
            index += 1
        return audio_format, b"".join(parts), index


@dataclass(frozen=True, slots=True)
class FallbackAnswer:
    """The fallback service's Transcript: its text and the language it reported, if any."""

    text: str
    language: str | None


class FallbackSession:
    """One request to the fallback service: replays a recording and reads its Transcript."""

    def __init__(
        self, engine: FallbackEngine, recording: AudioRecording, language: str | None
    ) -> None:
        """Prepare a request to ``engine`` replaying ``recording`` in ``language`` (None: any)."""
        self.engine = engine
        self._recording = recording
        self._language = language
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[FallbackAnswer] | None = None

    def start(self) -> asyncio.Task[FallbackAnswer]:
        """Connect and replay in the background; the task's result is the answer."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="qwen-fallback")
            # An unused (prepared) session's failure is not an error worth a warning.
            self._task.add_done_callback(retrieve_exception)
        return self._task

    async def close(self) -> None:
        """Cancel the request if it still runs and close its connection."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._writer is not None:
            self._writer.close()

    async def _run(self) -> FallbackAnswer:
        engine = self.engine
        try:
            async with asyncio.timeout(engine.connect_timeout):
                reader, self._writer = await asyncio.open_connection(engine.host, engine.port)
        except TimeoutError:
            raise FallbackError(f"no connection within {engine.connect_timeout:g} s") from None
        except OSError as err:
            raise FallbackError(f"cannot connect: {err.strerror or err}") from None
        sender = asyncio.create_task(self._send(self._writer), name="qwen-fallback-send")
        try:
            answer = await self._read_answer(reader)
        finally:
            if not sender.done():
                sender.cancel()
            with contextlib.suppress(BaseException):
                await sender
        return answer

    async def _write(self, writer: asyncio.StreamWriter, event: Event) -> None:
        async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
            await async_write_event(event, writer)

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        """Send Transcribe, AudioStart, the recording so far, then what arrives, then AudioStop."""
        recording = self._recording
        try:
            await self._write(writer, Transcribe(language=self._language).event())
            while recording.format is None and not recording.stopped:
                recording.changed.clear()
                await recording.changed.wait()
            if recording.format is not None:
                start = recording.format
                await self._write(
                    writer, AudioStart(start.rate, start.width, start.channels).event()
                )
            index = 0
            while True:
                while index < len(recording.pieces):
                    fmt, audio, index = recording.joined(index)
                    chunk = AudioChunk(
                        rate=fmt.rate, width=fmt.width, channels=fmt.channels, audio=audio
                    )
                    await self._write(writer, chunk.event())
                if recording.stopped:
                    await self._write(writer, AudioStop().event())
                    return
                recording.changed.clear()
                await recording.changed.wait()
        except (OSError, TimeoutError) as err:
            # The reader sees the connection's end and reports it.
            _LOGGER.debug("Cannot send audio to the fallback: %r", err)

    async def _read_answer(self, reader: asyncio.StreamReader) -> FallbackAnswer:
        while True:
            try:
                event = await read_event(reader)
            except WireError as err:
                raise FallbackError(f"not a Wyoming answer: {err}") from None
            except OSError as err:
                raise FallbackError(f"connection lost: {err.strerror or err}") from None
            if event is None:
                raise FallbackError("closed the connection without a transcript")
            if Transcript.is_type(event.type):
                transcript = Transcript.from_event(event)
                return FallbackAnswer(transcript.text, transcript.language)
            if Error.is_type(event.type):
                raise FallbackError(f"answered an error: {Error.from_event(event).text}")


def retrieve_exception(task: asyncio.Task[FallbackAnswer] | asyncio.Task[None]) -> None:
    """Mark a background task's exception as seen (asyncio warns about unseen ones)."""
    if not task.cancelled():
        task.exception()
