"""The Wyoming event handler: one instance per client connection.

It turns each Transcribe/audio stream into one ``Request`` (request_types.py), which
opening.py builds, and knows no more of it than that Protocol. The connection's reads and
writes are client_stream.py's; how long it waits for its client is client_pace.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from qwen_asr_realtime import QwenError, QwenTimeoutError
from wyoming.asr import Transcribe, Transcript, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe, Info, SelectProgram
from wyoming.server import AsyncEventHandler

from .access import ThrottledLog, peer_address
from .audio import AudioFormatError, PcmFormat
from .client_pace import ClientPace
from .client_stream import ClientStream
from .limits import Refusal, RequestGate
from .opening import open_request, request_language
from .request import error_code
from .request_types import Failure, Request
from .settings import ServerSettings
from .wire import WireError

_LOGGER = logging.getLogger(__name__)


class _Wanted:
    """A request asked for (Transcribe or AudioStart) whose audio has not begun yet.

    Its Qwen session opens at the first AudioChunk, so events alone open nothing upstream.
    """

    __slots__ = ("audio_format", "transcribe")

    def __init__(self, transcribe: Transcribe | None) -> None:
        self.transcribe = transcribe
        self.audio_format: tuple[int, int, int] | None = None


class QwenAsrEventHandler(AsyncEventHandler):
    """Answers Describe and turns each Transcribe/audio stream into one Qwen session."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        settings: ServerSettings,
        info: Info,
        gate: RequestGate | None = None,
        client_log: ThrottledLog | None = None,
    ) -> None:
        """Serve one connection; ``gate`` and ``client_log`` are shared by the server's."""
        super().__init__(reader, writer)
        self.settings = settings
        self.info = info
        # Shared by the server's connections: --max-sessions, --daily-audio-minutes.
        self._gate = gate if gate is not None else RequestGate(None)
        # Warnings about what a client did, at most one a minute per address and kind.
        self._client_log = client_log if client_log is not None else ThrottledLog()
        self._client = peer_address(writer)  # None: unix socket or stdio
        self._request: Request | None = None
        self._wanted: _Wanted | None = None
        self._pace = ClientPace(settings)
        self._stream = ClientStream(
            reader,
            writer,
            lambda: self._pace.read_timeout(busy=self._busy, streaming=self._request is not None),
        )
        self._failed = False
        self._draining = False
        self._warned_stray_audio = False
        self._chunk_format: tuple[object, object, object] | None = None  # of the last chunk

    # -- connection lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Serve events like the base class, but with bounded reads and no exception escaping."""
        try:
            while not self._failed:
                try:
                    event = await self._stream.next_event()
                except TimeoutError:
                    if self._too_slow():
                        await self._end_too_slow()
                    elif self._busy and not await self._answer_recognized():
                        await self._fail(QwenTimeoutError("No audio from the client in time"))
                    break
                except WireError as err:
                    self._warn_client("bad-event", "Closing a connection: bad event: %s", err)
                    await self._reject(str(err), "bad-request")
                    break  # then linger, so that the Error is not lost to a TCP reset
                if event is None or not await self.handle_event(event):
                    break
            if self._failed:
                await self._drop_request()  # its slot is free before the linger, not after
                await self._stream.linger()
        except (ConnectionError, OSError) as err:
            _LOGGER.debug("Connection lost: %s", err)
        except Exception:  # one broken connection must never take the server down
            _LOGGER.exception("Unexpected error; closing the connection")
        finally:
            await self.disconnect()
            self._stream.close()

    async def _answer_recognized(self) -> bool:
        """Answer a request whose client stopped sending audio with the words heard so far.

        The words already recognized are not lost to a satellite that stalls mid-command;
        with nothing recognized the request fails with ``timeout``.
        """
        request = self._request
        if request is None or request.answered:
            return False
        return await request.answer_recognized(
            f"No audio from the client for {self.settings.request_idle_seconds:g} s"
        )

    @property
    def _busy(self) -> bool:
        if self._request is None:
            return self._wanted is not None
        return not self._request.answered

    def _too_slow(self) -> bool:
        request = self._request
        return request is not None and not request.answered and self._pace.too_slow()

    async def _end_too_slow(self) -> None:
        """End a request whose audio trickles: it would hold a session slot for nothing."""
        text = self._pace.describe_slow()
        self._warn_client("too-slow", "Ending a request from %s: %s", self._client, text)
        await self._reject(text, "audio-too-slow")

    def _warn_client(self, kind: str, message: str, *args: object) -> None:
        """Warn about this client's behaviour, rate-limited per address and kind."""
        self._client_log.warning(f"{self._client} {kind}", message, *args)

    async def disconnect(self) -> None:
        """Close the request in progress, if any."""
        await self._drop_request()

    def begin_shutdown(self) -> None:
        """Finish the request in progress, if any, then close; idle connections close now."""
        self._draining = True
        if not self._busy:
            self._stream.stop_reading()

    # -- events -----------------------------------------------------------------------

    async def handle_event(self, event: Event) -> bool:
        """Act on one event from the client; tell whether to read on."""
        if self._failed:
            return False
        try:
            if AudioChunk.is_type(event.type):
                return await self._on_chunk(event)
            if Describe.is_type(event.type):
                await self._stream.write(self.info.event())
                return True
            if Transcribe.is_type(event.type):
                await self._begin(Transcribe.from_event(event))
                return True
            if AudioStart.is_type(event.type):
                return await self._on_audio_start(AudioStart.from_event(event))
            if AudioStop.is_type(event.type):
                return await self._on_audio_stop()
            if SelectProgram.is_type(event.type):
                self._select_program(SelectProgram.from_event(event))
                return True
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            self._warn_client("malformed", "Malformed %s event: %s", event.type, err)
            await self._reject(f"Malformed {event.type} event", "bad-request")
            return False
        _LOGGER.debug("Ignoring event %s", event.type)
        return True

    def _select_program(self, select: SelectProgram) -> None:
        """Keep this server's one ASR program whatever a client selects (wyoming 1.10).

        A client may pick one of the advertised programs before Transcribe. Another name
        (a TTS or wake program of a combined client, say) leaves the ASR program in charge,
        as the protocol's default.
        """
        programs = {program.name for program in self.info.asr}
        if select.name not in programs:
            _LOGGER.debug(
                "SelectProgram %r is not an ASR program here; keeping the default", select.name
            )

    async def _begin(self, transcribe: Transcribe | None) -> None:
        """Begin a new request; its Qwen session opens when its audio begins (``_open``)."""
        await self._drop_request()
        self._chunk_format = None  # the new request's converter is set by its first format
        self._wanted = _Wanted(transcribe)

    async def _open(self, wanted: _Wanted) -> bool:
        """Open the Qwen session of the request ``wanted`` (its first audio has come)."""
        opened = open_request(
            self.settings,
            self._gate,
            wanted.transcribe,
            emit=self._stream.write,
            on_failure=self._fail,
            client=self._client,
        )
        if isinstance(opened, Refusal):
            self._warn_client(
                opened.code, "Refusing a request from %s: %s", self._client, opened.text
            )
            await self._reject(opened.text, opened.code)
            return False
        self._request = opened
        self._pace.audio_began()
        if wanted.audio_format is not None:
            return await self._set_format(opened, *wanted.audio_format)
        return True

    async def _on_audio_start(self, start: AudioStart) -> bool:
        request = self._request
        if request is not None and not request.answered:
            return await self._set_format(request, start.rate, start.width, start.channels)
        if self._wanted is None:
            await self._begin(None)
        assert self._wanted is not None
        try:
            PcmFormat(start.rate, start.width, start.channels).validate()  # now, not at audio
        except AudioFormatError as err:
            await self._reject(str(err), "bad-audio-format")
            return False
        self._wanted.audio_format = (start.rate, start.width, start.channels)
        return True

    async def _on_chunk(self, event: Event) -> bool:
        """Pass one chunk of audio on.

        Runs for every chunk (100 a second from Home Assistant): no AudioChunk or format
        objects unless the format changes.
        """
        data = event.data
        rate, width, channels = data["rate"], data["width"], data["channels"]
        request = self._request
        if request is None and self._wanted is not None:
            wanted, self._wanted = self._wanted, None
            if not await self._open(wanted):
                return False
            request = self._request
        if request is None:
            if not self._warned_stray_audio:
                self._warned_stray_audio = True
                _LOGGER.warning("Ignoring audio sent outside a transcription request")
            return True
        if request.answered:
            return True  # server endpointing answered already; the rest is ignored
        same = (rate, width, channels) == self._chunk_format
        known = same and type(rate) is type(width) is type(channels) is int  # True == 1
        if not known and not await self._set_format(request, rate, width, channels):
            return False
        payload = event.payload or b""
        self._pace.count(len(payload))
        try:
            await request.feed(payload)
        except QwenError as err:
            await self._fail(err)
            return False
        return True

    async def _set_format(self, request: Request, rate: int, width: int, channels: int) -> bool:
        self._chunk_format = None
        try:
            audio_format = PcmFormat(rate, width, channels)
            request.set_format(audio_format)
        except AudioFormatError as err:
            await self._reject(str(err), "bad-audio-format")
            return False
        self._chunk_format = (rate, width, channels)
        self._pace.set_rate(rate * width * channels)
        return True

    async def _on_audio_stop(self) -> bool:
        request, self._request = self._request, None
        wanted, self._wanted = self._wanted, None
        if request is None and wanted is not None:
            await self._answer_without_audio(wanted.transcribe)
            return not (self._draining or self._failed)
        if request is None:
            _LOGGER.debug("Ignoring audio-stop outside a transcription request")
            return not self._draining
        try:
            await request.finish()
        except QwenError as err:
            await self._fail(err)
            return False
        finally:
            await request.close()
        return not (self._draining or self._failed)

    async def _answer_without_audio(self, transcribe: Transcribe | None) -> None:
        """Answer a request that ended before any audio: empty, and no Qwen session."""
        language = request_language(self.settings, transcribe)
        await self._stream.write(TranscriptStart(language=language).event())
        await self._stream.write(Transcript(text="", language=language).event())
        await self._stream.write(TranscriptStop().event())

    # -- failure ----------------------------------------------------------------------

    async def _fail(self, failure: Failure) -> None:
        """Report the failure, then close: HA before 2026.8 only notices the close."""
        if self._failed:
            return
        if isinstance(failure, Refusal):  # refused, and the fallback answered nothing either
            text, code = failure.text, failure.code
        else:
            text, code = str(failure), error_code(failure)
        _LOGGER.warning("Transcription failed: %s", text)
        await self._reject(text, code)

    async def _reject(self, text: str, code: str) -> None:
        """Send an Error and end the connection (after lingering, see client_stream.py)."""
        if self._failed:
            return
        self._failed = True
        await self._stream.send_error(text, code)
        self._stream.stop_reading()  # if the failure came from the result task

    async def _drop_request(self) -> None:
        self._wanted = None
        request, self._request = self._request, None
        if request is not None:
            with contextlib.suppress(Exception):
                await request.close()
