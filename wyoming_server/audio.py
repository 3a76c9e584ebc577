"""Conversion of Wyoming audio in any PCM format to what Qwen expects (16 kHz, 16-bit, mono)."""

from __future__ import annotations

try:  # the C module exists up to Python 3.12; wyoming ships a pure-Python fallback
    import audioop
except ImportError:  # pragma: no cover - Python 3.13+
    from wyoming import pyaudioop as audioop  # type: ignore[no-redef]

from dataclasses import dataclass
from typing import Any

TARGET_RATE = 16_000
TARGET_WIDTH = 2
TARGET_CHANNELS = 1

MIN_RATE = 1_000
MAX_RATE = 384_000
WIDTHS = (1, 2, 3, 4)
MAX_CHANNELS = 32


class AudioFormatError(ValueError):
    """The client declared an audio format that cannot be PCM."""


@dataclass(frozen=True, slots=True)
class PcmFormat:
    """Sample rate (Hz), sample width (bytes) and channel count of raw PCM."""

    rate: int
    width: int
    channels: int

    def validate(self) -> None:
        """Raise AudioFormatError unless every field is an integer in the supported range."""
        for value in (self.rate, self.width, self.channels):
            if isinstance(value, bool) or not isinstance(value, int):
                raise AudioFormatError(f"Audio format fields must be integers: {self}")
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise AudioFormatError(f"Unsupported sample rate {self.rate}")
        if self.width not in WIDTHS:
            raise AudioFormatError(f"Unsupported sample width {self.width}")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise AudioFormatError(f"Unsupported channel count {self.channels}")

    @property
    def frame_bytes(self) -> int:
        """Bytes of one frame: one sample of each channel."""
        return self.width * self.channels

    @property
    def bytes_per_second(self) -> int:
        """Bytes of one second of audio in this format."""
        return self.rate * self.frame_bytes


TARGET_FORMAT = PcmFormat(TARGET_RATE, TARGET_WIDTH, TARGET_CHANNELS)


class PcmConverter:
    """Streams PCM of one format into 16 kHz 16-bit mono, keeping state across chunks.

    Chunks may split frames (a client is free to cut anywhere), so an incomplete tail is
    carried over to the next chunk; the resampler state is carried over too.
    """

    def __init__(self, source: PcmFormat) -> None:
        """Convert from ``source``; AudioFormatError if it cannot be PCM."""
        source.validate()
        self.source = source
        self._tail = b""
        self._ratecv_state: Any = None

    @property
    def input_bytes_per_second(self) -> int:
        """Bytes of one second of the client's audio, before conversion."""
        return self.source.bytes_per_second

    def convert(self, audio: bytes) -> bytes:
        """Return ``audio`` in the target format; an incomplete frame waits for the next chunk."""
        if not self._tail and len(audio) % self.source.frame_bytes == 0:
            # The common case, whole frames: no copy, and none at all in the target format.
            return self._convert_frames(audio) if audio else b""
        data = self._tail + audio
        usable = len(data) - len(data) % self.source.frame_bytes
        self._tail = data[usable:]
        if not usable:
            return b""
        return self._convert_frames(data[:usable])

    def _convert_frames(self, data: bytes) -> bytes:
        width, channels = self.source.width, self.source.channels
        if channels > 2:
            # audioop only mixes stereo; for more channels keep the first one.
            data = _first_channel(data, width, channels)
            channels = 1
        if width == 1:
            data = audioop.bias(data, 1, -128)  # Wyoming/WAV 8-bit PCM is unsigned
        if width != TARGET_WIDTH:
            data = audioop.lin2lin(data, width, TARGET_WIDTH)
        if channels == 2:
            data = audioop.tomono(data, TARGET_WIDTH, 0.5, 0.5)
        if self.source.rate != TARGET_RATE:
            data, self._ratecv_state = audioop.ratecv(
                data, TARGET_WIDTH, 1, self.source.rate, TARGET_RATE, self._ratecv_state
            )
        return data


def _first_channel(data: bytes, width: int, channels: int) -> bytes:
    frames = len(data) // (width * channels)
    out = bytearray(frames * width)
    for byte in range(width):
        out[byte::width] = data[byte :: width * channels][:frames]
    return bytes(out)
