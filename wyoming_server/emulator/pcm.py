"""Small PCM16 (little-endian, mono) helpers; stdlib only (``audioop`` is gone in 3.13)."""

from __future__ import annotations

import math
import sys
from array import array

from qwen_asr_realtime import SAMPLE_WIDTH

_FULL_SCALE = 32768.0
SILENCE_DBFS = -120.0


def samples_of(pcm: bytes) -> array[int]:
    """Return the samples of ``pcm`` as integers (a trailing odd byte is ignored)."""
    values = array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH])
    if sys.byteorder == "big":  # the wire format is little-endian
        values.byteswap()
    return values


def to_bytes(values: array[int]) -> bytes:
    """Return ``values`` as little-endian PCM16 bytes."""
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def dbfs(pcm: bytes) -> float:
    """Return the RMS level of a frame in dBFS (SILENCE_DBFS for silence or no samples)."""
    values = samples_of(pcm)
    if not values:
        return SILENCE_DBFS
    mean_square = sum(v * v for v in values) / len(values)
    if mean_square <= 0:
        return SILENCE_DBFS
    level: float = 10 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE))
    return max(SILENCE_DBFS, level)


def duration_ms(byte_count: int, sample_rate: int) -> float:
    """Return how many milliseconds ``byte_count`` bytes of PCM16 at ``sample_rate`` last."""
    return float(byte_count / SAMPLE_WIDTH * 1000 / sample_rate)


class FrameSplitter:
    """Cuts an append stream of any chunk size into fixed frames, carrying the remainder."""

    def __init__(self, frame_bytes: int) -> None:
        """Cut frames of ``frame_bytes`` bytes."""
        self._frame_bytes = frame_bytes
        self._carry = b""

    def push(self, pcm: bytes) -> list[bytes]:
        """Return the whole frames completed by ``pcm``; keep the remainder for the next push."""
        data = self._carry + pcm
        cut = len(data) - len(data) % self._frame_bytes
        self._carry = data[cut:]
        return [data[i : i + self._frame_bytes] for i in range(0, cut, self._frame_bytes)]


class Upsampler2x:
    """Doubles the sample rate (8 kHz -> 16 kHz) by linear interpolation, across chunk edges."""

    def __init__(self) -> None:
        """Start with no previous sample (the first output sample is the first input sample)."""
        self._last: int | None = None

    def push(self, pcm: bytes) -> bytes:
        """Return ``pcm`` at twice its rate, interpolating from the previous chunk's last sample."""
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
