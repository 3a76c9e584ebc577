"""Small PCM16 (little-endian, mono) helpers; stdlib only (``audioop`` is gone in 3.13)."""

from __future__ import annotations

import math
import sys
from array import array

from qwen_asr_realtime import SAMPLE_WIDTH

_FULL_SCALE = 32768.0
SILENCE_DBFS = -120.0


def samples_of(pcm: bytes) -> array[int]:
    values = array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH])
    if sys.byteorder == "big":  # the wire format is little-endian
        values.byteswap()
    return values


def to_bytes(values: array[int]) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def dbfs(pcm: bytes) -> float:
    """RMS level of a frame relative to full scale."""
    values = samples_of(pcm)
    if not values:
        return SILENCE_DBFS
    mean_square = sum(v * v for v in values) / len(values)
    if mean_square <= 0:
        return SILENCE_DBFS
    level: float = 10 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE))
    return max(SILENCE_DBFS, level)


def duration_ms(byte_count: int, sample_rate: int) -> float:
    return float(byte_count / SAMPLE_WIDTH * 1000 / sample_rate)


class FrameSplitter:
    """Cuts an append stream of any chunk size into fixed frames, carrying the remainder."""

    def __init__(self, frame_bytes: int) -> None:
        self._frame_bytes = frame_bytes
        self._carry = b""

    def push(self, pcm: bytes) -> list[bytes]:
        data = self._carry + pcm
        cut = len(data) - len(data) % self._frame_bytes
        self._carry = data[cut:]
        return [data[i : i + self._frame_bytes] for i in range(0, cut, self._frame_bytes)]


class Upsampler2x:
    """Doubles the sample rate (8 kHz -> 16 kHz) by linear interpolation, across chunk edges."""

    def __init__(self) -> None:
        self._last: int | None = None

    def push(self, pcm: bytes) -> bytes:
        values = samples_of(pcm)
        out = array("h")
        previous = self._last
        for value in values:
            if previous is not None:
                out.append((previous + value) // 2)
            out.append(value)
            previous = value
        self._last = previous
        return to_bytes(out)
