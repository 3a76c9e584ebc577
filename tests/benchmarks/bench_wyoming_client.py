"""One Home Assistant-style Wyoming request, timed from AudioStop to the answer: the client
of the fail-fast and fallback benchmarks."""

from __future__ import annotations

import asyncio
import time
import wave
from pathlib import Path

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

HA_CHUNK_BYTES = 320  # 10 ms of 16 kHz 16-bit mono, as Home Assistant sends it


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def timed_request(port: int, pcm: bytes, *, real_time: bool) -> tuple[str, float]:
    """(the transcript, 'error CODE' or 'closed'; seconds from AudioStop to the answer).
    ``real_time`` paces the 10 ms chunks as a live microphone; otherwise they go at once."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), HA_CHUNK_BYTES)):
            chunk = pcm[offset : offset + HA_CHUNK_BYTES]
            try:
                await client.write_event(AudioChunk(16000, 2, 1, chunk).event())
            except ConnectionError:
                break
            if real_time:
                await asyncio.sleep(max(start + (index + 1) * 0.01 - loop.time(), 0))
        await client.write_event(AudioStop().event())
        stopped = time.perf_counter()
        async with asyncio.timeout(60):
            while (event := await client.read_event()) is not None:
                if Transcript.is_type(event.type):
                    return Transcript.from_event(event).text, time.perf_counter() - stopped
                if Error.is_type(event.type):
                    code = Error.from_event(event).code
                    return f"error {code}", time.perf_counter() - stopped
    return "closed", time.perf_counter() - stopped
