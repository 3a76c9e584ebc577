"""Reading WAV files as Wyoming-style PCM chunks (transcribe and demo commands)."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from .audio import PcmFormat

CHUNK_MS = 100


class WavError(Exception):
    """The file is missing or not a PCM WAV file."""


@dataclass(frozen=True, slots=True)
class WavAudio:
    format: PcmFormat
    pcm: bytes

    def chunks(self, chunk_ms: int = CHUNK_MS) -> list[bytes]:
        size = max(1, self.format.rate * chunk_ms // 1000) * self.format.frame_bytes
        return [self.pcm[i : i + size] for i in range(0, len(self.pcm), size)]

    async def stream(self, *, realtime: bool) -> AsyncIterator[bytes]:
        """The chunks; with ``realtime`` each leaves when its audio would have been recorded,
        as a microphone (and Qwen's official samples) deliver it."""
        loop = asyncio.get_running_loop()
        started, recorded = loop.time(), 0.0
        for chunk in self.chunks():
            yield chunk
            recorded += len(chunk) / (self.format.rate * self.format.frame_bytes)
            if realtime:
                await asyncio.sleep(max(0.0, started + recorded - loop.time()))

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (self.format.rate * self.format.frame_bytes)


def read_wav(path: Path) -> WavAudio:
    try:
        with wave.open(str(path), "rb") as wav:
            audio_format = PcmFormat(wav.getframerate(), wav.getsampwidth(), wav.getnchannels())
            pcm = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as err:
        raise WavError(f"{path}: not a readable PCM WAV file ({err})") from None
    return WavAudio(audio_format, pcm)
