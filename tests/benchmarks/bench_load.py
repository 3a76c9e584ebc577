"""Load generator: Wyoming clients streaming speech fixtures in real time, or whole files.

Each request is what Home Assistant sends: Transcribe, AudioStart, AudioChunks of one size
(10 ms as Home Assistant's pipeline cuts them, 64 ms as wyoming-satellite's 1024 samples,
or 100 ms as Qwen's samples), chunk i leaving when its audio would have been recorded,
AudioStop right after the last chunk, then it reads until the Transcript. A whole-file
client (``paced=False``) sends every chunk at once, as a script or a benchmark does.
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

from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

HOST = "127.0.0.1"
RATE, WIDTH, CHANNELS = 16000, 2, 1  # what the server sends on: byte offsets map 1:1
BYTES_PER_MS = RATE * WIDTH * CHANNELS // 1000
REQUEST_TIMEOUT_S = 30.0


def chunk_bytes(chunk_ms: int) -> int:
    """Bytes of one chunk; 64 ms is exactly 1024 samples."""
    return chunk_ms * BYTES_PER_MS


@dataclass(frozen=True)
class Fixture:
    name: str
    pcm: bytes

    @property
    def audio_s(self) -> float:
        return len(self.pcm) / (RATE * WIDTH * CHANNELS)

    def chunks(self, size: int) -> list[bytes]:
        return [self.pcm[i : i + size] for i in range(0, len(self.pcm), size)]


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
    chunk_bytes: int
    audio_bytes: int
    started: float = 0.0  # before the Transcribe event was written
    chunk_sent: list[float] = field(default_factory=list)  # after write_event returned
    first_text_at: float | None = None  # the first TranscriptChunk (or the Transcript)
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
        if TranscriptChunk.is_type(event.type) and timing.first_text_at is None:
            timing.first_text_at = time.monotonic()
        if Transcript.is_type(event.type):
            timing.transcript_at = time.monotonic()
            timing.first_text_at = timing.first_text_at or timing.transcript_at
            timing.text = Transcript.from_event(event).text
            return
        if Error.is_type(event.type):
            timing.error = Error.from_event(event).text
            return


async def run_request(
    port: int, tag: str, fixture: Fixture, chunk_ms: int, *, paced: bool = True
) -> RequestTiming:
    size = chunk_bytes(chunk_ms)
    timing = RequestTiming(tag, fixture.name, fixture.audio_s, size, len(fixture.pcm))
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    timing.started = time.monotonic()
    reader: asyncio.Task[None] | None = None
    try:
        # The reader runs from the start so the Transcript is stamped when it arrives.
        reader = asyncio.create_task(_read_until_transcript(client, timing))
        await client.write_event(Transcribe(language="en", transcript_names=[tag]).event())
        await client.write_event(AudioStart(RATE, WIDTH, CHANNELS).event())
        start = time.monotonic()
        for index, chunk in enumerate(fixture.chunks(size)):
            # Absolute schedule: no drift, however long a write took.
            delay = start + (index + 1) * chunk_ms / 1000 - time.monotonic()
            if paced and delay > 0:
                await asyncio.sleep(delay)
            if reader.done():
                break  # answered early (server endpointing): HA stops streaming then too
            await client.write_event(AudioChunk(RATE, WIDTH, CHANNELS, chunk).event())
            timing.chunk_sent.append(time.monotonic())
        if not reader.done():
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
    chunk_ms: int,
    paced: bool = True,
    seed: int = 1,
) -> list[RequestTiming]:
    """``requests`` requests over ``concurrency`` back-to-back streams, fixtures in rotation.

    Stream starts are spread over 100 ms (and a short random pause separates a stream's
    requests) so that chunks of different streams do not all arrive in the same
    millisecond, as independent speakers would not.
    """
    rng = random.Random(seed)
    counter = itertools.count()
    results: list[RequestTiming] = []

    async def stream(slot: int) -> None:
        await asyncio.sleep(slot * 0.1 / concurrency)
        while (n := next(counter)) < requests:
            fixture = fixtures[n % len(fixtures)]
            results.append(await run_request(port, f"{prefix}-{n}", fixture, chunk_ms, paced=paced))
            await asyncio.sleep(rng.uniform(0.0, 0.1))

    await asyncio.gather(*(stream(slot) for slot in range(concurrency)))
    return results
