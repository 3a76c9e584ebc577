"""Load generator: Wyoming clients streaming speech fixtures in real time.

Each request is what Home Assistant sends: Transcribe, AudioStart, 100 ms AudioChunks, one
every 100 ms (chunk i leaves when its audio would have been recorded), AudioStop right after
the last chunk, then it reads until the Transcript.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

HOST = "127.0.0.1"
RATE, WIDTH, CHANNELS = 16000, 2, 1  # what the server sends on: byte offsets map 1:1
CHUNK_MS = 100
CHUNK_BYTES = RATE * CHUNK_MS // 1000 * WIDTH * CHANNELS
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Fixture:
    name: str
    pcm: bytes

    @property
    def audio_s(self) -> float:
        return len(self.pcm) / (RATE * WIDTH * CHANNELS)

    @property
    def chunks(self) -> list[bytes]:
        return [self.pcm[i : i + CHUNK_BYTES] for i in range(0, len(self.pcm), CHUNK_BYTES)]


def load_fixture(path: Path) -> Fixture:
    with wave.open(str(path), "rb") as wav:
        if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (RATE, WIDTH, CHANNELS):
            raise ValueError(f"{path.name}: benchmark fixtures must be 16 kHz 16-bit mono")
        return Fixture(path.stem, wav.readframes(wav.getnframes()))


@dataclass
class RequestTiming:
    """Client-side timestamps (time.monotonic()) of one request."""

    tag: str
    fixture: str
    audio_s: float
    chunk_sent: list[float] = field(default_factory=list)  # after write_event returned
    stop_sent: float | None = None
    transcript_at: float | None = None
    text: str | None = None
    error: str | None = None


async def _read_until_transcript(client: AsyncTcpClient, timing: RequestTiming) -> None:
    while True:
        event = await client.read_event()
        if event is None:
            timing.error = timing.error or "connection closed"
            return
        if Transcript.is_type(event.type):
            timing.transcript_at = time.monotonic()
            timing.text = Transcript.from_event(event).text
            return
        if Error.is_type(event.type):
            timing.error = Error.from_event(event).text
            return


async def run_request(port: int, tag: str, fixture: Fixture) -> RequestTiming:
    timing = RequestTiming(tag, fixture.name, fixture.audio_s)
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    reader: asyncio.Task[None] | None = None
    try:
        # The reader runs from the start so the Transcript is stamped when it arrives.
        reader = asyncio.create_task(_read_until_transcript(client, timing))
        await client.write_event(Transcribe(language="en", transcript_names=[tag]).event())
        await client.write_event(AudioStart(RATE, WIDTH, CHANNELS).event())
        start = time.monotonic()
        for index, chunk in enumerate(fixture.chunks):
            # Absolute schedule: no drift, however long a write took.
            delay = start + (index + 1) * CHUNK_MS / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await client.write_event(AudioChunk(RATE, WIDTH, CHANNELS, chunk).event())
            timing.chunk_sent.append(time.monotonic())
        await client.write_event(AudioStop().event())
        timing.stop_sent = time.monotonic()
        await asyncio.wait_for(reader, REQUEST_TIMEOUT_S)
    except (OSError, TimeoutError) as err:
        timing.error = timing.error or f"{type(err).__name__}: {err}"
    finally:
        if reader is not None and not reader.done():
            reader.cancel()
        with contextlib.suppress(OSError):
            await client.disconnect()
    return timing


async def run_load(
    port: int,
    fixtures: list[Fixture],
    *,
    requests: int,
    concurrency: int,
    prefix: str,
    seed: int = 1,
) -> list[RequestTiming]:
    """``requests`` requests over ``concurrency`` back-to-back streams, fixtures in rotation.

    Stream starts are spread over one chunk period (and a short random pause separates a
    stream's requests) so that chunks of different streams do not all arrive in the same
    millisecond, as independent speakers would not.
    """
    rng = random.Random(seed)
    counter = itertools.count()
    results: list[RequestTiming] = []

    async def stream(slot: int) -> None:
        await asyncio.sleep(slot * CHUNK_MS / 1000 / concurrency)
        while (n := next(counter)) < requests:
            fixture = fixtures[n % len(fixtures)]
            results.append(await run_request(port, f"{prefix}-{n}", fixture))
            await asyncio.sleep(rng.uniform(0.0, 0.1))

    await asyncio.gather(*(stream(slot) for slot in range(concurrency)))
    return results
