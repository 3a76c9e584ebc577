"""What Home Assistant does with a Wyoming satellite: connect, ``RunSatellite``, take its
``RunPipeline`` and audio, run speech-to-text on that audio, send the ``Transcript`` back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.pipeline import RunPipeline
from wyoming.satellite import RunSatellite

CONNECT_TIMEOUT = 120.0  # generous: under qemu (the arm64 CI step) Python starts slowly
COMMAND_TIMEOUT = 120.0


class SatelliteConnection:
    """One connection to the satellite; a single reader queues every event it sends."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._client: AsyncTcpClient | None = None
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> Info:
        """Connect (the satellite may still be starting) and ``Describe`` it."""
        async with asyncio.timeout(CONNECT_TIMEOUT):
            while True:
                try:
                    client = AsyncTcpClient("127.0.0.1", self._port)
                    await client.connect()
                    break
                except OSError:
                    await asyncio.sleep(0.2)
            self._client = client
            await client.write_event(Describe().event())
            while True:
                event = await client.read_event()
                assert event is not None, "the satellite closed the connection"
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    break
        self._reader = asyncio.create_task(self._read())
        return info

    async def _read(self) -> None:
        assert self._client is not None
        while (event := await self._client.read_event()) is not None:
            self.events.put_nowait(event)

    async def send(self, event: Event) -> None:
        assert self._client is not None
        await self._client.write_event(event)

    async def run_satellite(self) -> RunPipeline:
        """``RunSatellite``; the satellite answers with the pipeline it wants run."""
        await self.send(RunSatellite().event())
        return RunPipeline.from_event(await self._next(RunPipeline.is_type))

    async def next_chunk(self) -> AudioChunk:
        return AudioChunk.from_event(await self._next(AudioChunk.is_type))

    async def _next(self, is_type: Callable[[str], bool]) -> Event:
        """The next event of one type; the others (satellite status events) are skipped."""
        async with asyncio.timeout(COMMAND_TIMEOUT):
            while not is_type((event := await self.events.get()).type):
                pass
        return event

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._client is not None:
            with contextlib.suppress(OSError):
                await self._client.disconnect()


async def speech_to_text(satellite: SatelliteConnection, stt_port: int) -> str:
    """Forward the satellite's audio to the STT server until it answers (its VAD ended
    the command); then tell the satellite the transcript, as the pipeline does."""
    async with AsyncTcpClient("127.0.0.1", stt_port) as stt:
        await stt.write_event(Transcribe(language="en").event())
        await stt.write_event(AudioStart(16000, 2, 1).event())
        answer = asyncio.create_task(_transcript(stt))
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT):
                while not answer.done():
                    chunk_wait = asyncio.create_task(satellite.next_chunk())
                    await asyncio.wait({chunk_wait, answer}, return_when=asyncio.FIRST_COMPLETED)
                    if not chunk_wait.done():
                        chunk_wait.cancel()  # only a queue get: nothing is lost
                        break
                    chunk = chunk_wait.result()
                    assert (chunk.rate, chunk.width, chunk.channels) == (16000, 2, 1)
                    await stt.write_event(chunk.event())
                text = await answer
        finally:
            answer.cancel()
        with contextlib.suppress(OSError):
            await stt.write_event(AudioStop().event())
    await satellite.send(Transcript(text=text).event())
    return text


async def _transcript(stt: AsyncTcpClient) -> str:
    while (event := await stt.read_event()) is not None:
        if Transcript.is_type(event.type):
            return Transcript.from_event(event).text
    raise AssertionError("the STT server closed without a transcript")
