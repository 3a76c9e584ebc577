"""Reading WAV files as Wyoming-style PCM chunks (transcribe and demo commands).

Every PCM WAV a recorder writes is read: integer PCM of 8, 16, 24 or 32 bits, IEEE float
of 32 or 64 bits, plain or WAVE_FORMAT_EXTENSIBLE, at any rate and channel count. The
audio is converted while it is read, piece by piece, by the converter the Wyoming path
uses (audio.PcmConverter), so what is held is 16 kHz 16-bit mono and at most
``max_seconds`` of it, however long or wide the file.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass
from math import isnan
from pathlib import Path
from typing import BinaryIO

from qwen_asr_realtime import MAX_REQUEST_SECONDS

from .audio import TARGET_FORMAT, AudioFormatError, PcmConverter, PcmFormat

# The recordings that ship with the package (``demo``, ``check``).
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
CHUNK_MS = 100

FORMAT_PCM = 0x0001
FORMAT_IEEE_FLOAT = 0x0003
FORMAT_EXTENSIBLE = 0xFFFE
# Formats that are not PCM, named in the error (the common ones; others by number).
_FORMAT_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0006: "A-law",
    0x0007: "µ-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG audio",
    0x0055: "MPEG Layer III (MP3)",
    0x00FF: "AAC",
    0x0160: "WMA",
    0xF1AC: "FLAC",
}
# KSDATAFORMAT_SUBTYPE_*: {0000XXXX-0000-0010-8000-00AA00389B71}, XXXX the format tag.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_MAX_FMT_BYTES = 1024  # a real fmt chunk has 16, 18 or 40
_MAX_CHUNKS = 1000  # chunks skipped before "data"
# Source bytes converted at a time: bounds memory whatever the rate and channel count.
_READ_BYTES = 1 << 20
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # a recorder that could not seek back to write the size
_PCM16_MAX = 32767  # float full scale (±1.0) maps to ±32767


class WavError(Exception):
    """The file is missing, not a WAV file, or not PCM."""


@dataclass(frozen=True, slots=True)
class WavAudio:
    """A file's audio, converted to 16 kHz 16-bit mono."""

    format: PcmFormat
    pcm: bytes
    # The file holds more audio than was read (``read_wav``'s ``max_seconds``).
    truncated: bool = False

    def chunks(self, chunk_ms: int = CHUNK_MS) -> list[bytes]:
        """Split the audio into pieces of ``chunk_ms``."""
        size = max(1, self.format.rate * chunk_ms // 1000) * self.format.frame_bytes
        return [self.pcm[i : i + size] for i in range(0, len(self.pcm), size)]

    async def stream(self, *, realtime: bool) -> AsyncIterator[bytes]:
        """Yield the chunks; with ``realtime`` each when its audio would have been recorded.

        That is how a microphone (and Qwen's official samples) deliver audio.
        """
        loop = asyncio.get_running_loop()
        started, recorded = loop.time(), 0.0
        for chunk in self.chunks():
            yield chunk
            recorded += len(chunk) / (self.format.rate * self.format.frame_bytes)
            if realtime:
                await asyncio.sleep(max(0.0, started + recorded - loop.time()))

    @property
    def seconds(self) -> float:
        """The duration of the audio read."""
        return len(self.pcm) / (self.format.rate * self.format.frame_bytes)


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the fmt chunk says: the samples' encoding and the frame layout."""

    source: PcmFormat  # as PcmConverter takes it (float is decoded to 16-bit first)
    is_float: bool
    width: int  # bytes per sample in the file
    block_align: int


def read_wav(path: Path, *, max_seconds: float = MAX_REQUEST_SECONDS) -> WavAudio:
    """Read and convert at most ``max_seconds`` of a PCM WAV file; raise WavError."""
    try:
        with path.open("rb") as file:
            layout, data_size = _read_header(file)
            return _read_data(file, layout, data_size, max_seconds)
    except OSError as err:
        raise WavError(f"{path}: cannot read: {err.strerror or err}") from None
    except WavError as err:
        raise WavError(f"{path}: {err}") from None


def _read_header(file: BinaryIO) -> tuple[_Layout, int]:
    """Return the format and the data chunk's declared size, leaving the file at the data."""
    riff = file.read(12)
    if len(riff) < 12:
        raise WavError("not a WAV file (too short for a RIFF header)")
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        kind = "RF64/BW64 WAV is not supported" if riff[:4] in (b"RF64", b"BW64") else None
        raise WavError(kind or "not a WAV file (no RIFF/WAVE header)")
    layout: _Layout | None = None
    for _ in range(_MAX_CHUNKS):
        header = file.read(8)
        if len(header) < 8:
            break
        chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"fmt ":
            if not 16 <= size <= _MAX_FMT_BYTES:
                raise WavError(f"truncated or malformed header (fmt chunk of {size} bytes)")
            body = file.read(size + (size & 1))
            if len(body) < size:
                raise WavError("truncated header (the fmt chunk ends early)")
            layout = _parse_fmt(body[:size])
        elif chunk_id == b"data":
            if layout is None:
                raise WavError("malformed header (data before the fmt chunk)")
            return layout, size
        else:
            file.seek(size + (size & 1), 1)  # RIFF chunks are padded to even sizes
    raise WavError("truncated header (no fmt and data chunks)" if layout is None else "no data")


def _parse_fmt(body: bytes) -> _Layout:
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise WavError("truncated header (WAVE_FORMAT_EXTENSIBLE without its sub-format)")
        guid = body[24:40]
        if guid[2:] != _GUID_TAIL:
            raise WavError(f"unsupported WAVE_FORMAT_EXTENSIBLE sub-format {guid.hex()}")
        tag = struct.unpack("<H", guid[:2])[0]
    if tag not in (FORMAT_PCM, FORMAT_IEEE_FLOAT):
        name = _FORMAT_NAMES.get(tag, "an unknown encoding")
        raise WavError(f"format 0x{tag:04X} ({name}) is not PCM; convert it to PCM first")
    is_float = tag == FORMAT_IEEE_FLOAT
    if bits not in ((32, 64) if is_float else (8, 16, 24, 32)):
        kind = "float" if is_float else "integer PCM"
        raise WavError(f"{bits}-bit {kind} is not supported")
    width = bits // 8
    if channels < 1 or block_align != width * channels:
        raise WavError(f"malformed header ({channels} channels, {block_align}-byte frames)")
    source = PcmFormat(rate, 2 if is_float else width, channels)
    try:
        source.validate()
    except AudioFormatError as err:
        raise WavError(str(err)) from None
    return _Layout(source, is_float, width, block_align)


def _read_data(file: BinaryIO, layout: _Layout, declared: int, max_seconds: float) -> WavAudio:
    rate, frame = layout.source.rate, layout.block_align
    limit = int(max_seconds * rate) * frame
    # A size the recorder never wrote, or one larger than the file: read what is there.
    wanted = limit + 1 if declared in _UNKNOWN_SIZES else min(declared, limit + 1)
    converter = PcmConverter(layout.source)
    out = bytearray()
    read = 0
    piece = max(frame, _READ_BYTES - _READ_BYTES % frame)
    while read < min(wanted, limit):
        data = file.read(min(piece, limit - read))
        if not data:
            break
        read += len(data)
        out += converter.convert(_float_to_pcm16(data, layout.width) if layout.is_float else data)
    truncated = wanted > limit and read == limit and bool(file.read(1))
    return WavAudio(TARGET_FORMAT, bytes(out), truncated)


def _float_to_pcm16(data: bytes, width: int) -> bytes:
    """Convert IEEE float samples (full scale ±1.0) to 16-bit PCM, clipped; NaN becomes 0."""
    samples = array("f" if width == 4 else "d")
    samples.frombytes(data[: len(data) - len(data) % width])
    if sys.byteorder == "big":  # pragma: no cover - WAV is little-endian
        samples.byteswap()
    scale = float(_PCM16_MAX).__mul__
    # samples == samples is False when one is NaN; min, max, == and map run in C: the
    # common case, in range, costs a fraction of a Python loop per sample.
    no_nan = samples == samples  # noqa: PLR0124
    if samples and no_nan and min(samples) >= -1.0 and max(samples) <= 1.0:
        return array("h", map(int, map(scale, samples))).tobytes()
    clipped = [0 if isnan(x) else int(max(-32768.0, min(32767.0, scale(x)))) for x in samples]
    return array("h", clipped).tobytes()
