"""``demo``: the whole chain on one machine, with no API key needed.

Starts the Qwen emulator with a real offline recognizer (pocketsphinx) on a loopback
port, starts this Wyoming server in front of it, sends the bundled speech recordings
through the Wyoming protocol like Home Assistant does, and prints the transcripts.
With an API key (QWEN_API_KEY) the real Qwen service is used instead of the emulator.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

from .addresses import ListenAddress
from .emulated import qwen_service
from .server import QwenAsrServer
from .settings import ServerSettings
from .wav import SAMPLES_DIR, WavAudio, WavError, read_wav

REPLY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class WyomingResult:
    """One recording's reply over Wyoming: the final text, the chunks before it, or an error."""

    text: str
    chunks: list[str]
    latency_seconds: float  # from AudioStop to the Transcript
    error: str | None = None


async def transcribe_over_wyoming(
    host: str,
    port: int,
    audio: WavAudio,
    *,
    language: str | None = None,
    realtime: bool = True,
) -> WyomingResult:
    """Send one recording as Home Assistant does and collect the reply."""
    client = AsyncTcpClient(host, port, connect_timeout=5.0)
    async with client:
        await client.write_event(Transcribe(language=language).event())
        fmt = audio.format
        await client.write_event(AudioStart(fmt.rate, fmt.width, fmt.channels).event())
        async for chunk in audio.stream(realtime=realtime):
            await client.write_event(AudioChunk(fmt.rate, fmt.width, fmt.channels, chunk).event())
        await client.write_event(AudioStop().event())
        stopped = time.monotonic()
        chunks: list[str] = []
        async with asyncio.timeout(REPLY_TIMEOUT_SECONDS):
            while (event := await client.read_event()) is not None:
                if TranscriptChunk.is_type(event.type):
                    chunks.append(TranscriptChunk.from_event(event).text)
                elif Transcript.is_type(event.type):
                    text = Transcript.from_event(event).text
                    return WyomingResult(text, chunks, time.monotonic() - stopped)
                elif Error.is_type(event.type):
                    return WyomingResult("", chunks, 0.0, Error.from_event(event).text)
    return WyomingResult("", chunks, 0.0, "the server closed the connection")


async def run_demo(settings: ServerSettings, files: list[Path], *, realtime: bool = True) -> int:
    """Transcribe ``files`` (or the bundled samples) via a local server; return the exit status."""
    paths = files or sorted(SAMPLES_DIR.glob("*.wav"))
    if not paths:
        print(f"demo: no WAV files given and none bundled in {SAMPLES_DIR}", file=sys.stderr)
        return 1
    try:
        recordings = [(path, read_wav(path)) for path in paths]
    except WavError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
    offline = not settings.api_key
    status = 0
    try:
        async with qwen_service(settings) as active:
            print(
                "Using the local Qwen emulator with the offline recognizer"
                if offline
                else f"Using the Qwen service ({settings.endpoint})",
                flush=True,
            )
            server = QwenAsrServer(active)
            await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
            try:
                for path, audio in recordings:
                    result = await transcribe_over_wyoming(
                        "127.0.0.1",
                        server.bound_port,
                        audio,
                        language=settings.language or "en",
                        realtime=realtime,
                    )
                    if result.error:
                        print(f"{path.name}: error: {result.error}", flush=True)
                        status = 1
                    else:
                        print(
                            f"{path.name} ({audio.seconds:.1f} s): {result.text!r} "
                            f"[{result.latency_seconds * 1000:.0f} ms after end of audio]",
                            flush=True,
                        )
            finally:
                await server.stop(grace=5.0)
    except RuntimeError as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
    return status
