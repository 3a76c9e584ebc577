"""Audio conversion to 16 kHz 16-bit mono, chunk by chunk."""

from __future__ import annotations

import audioop

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wyoming_server.audio import AudioFormatError, PcmConverter, PcmFormat


def _convert_in_pieces(fmt: PcmFormat, data: bytes, cuts: list[int]) -> bytes:
    converter = PcmConverter(fmt)
    out = b""
    previous = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        out += converter.convert(data[previous:cut])
        previous = cut
    return out


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from([8000, 16000, 22050, 44100, 48000]),
    width=st.sampled_from([1, 2, 3, 4]),
    channels=st.integers(1, 6),
    frames=st.integers(0, 2000),
    cuts=st.lists(st.integers(0, 50_000), max_size=8),
)
def test_any_split_gives_16khz_mono_of_the_right_length(
    rate: int, width: int, channels: int, frames: int, cuts: list[int]
) -> None:
    fmt = PcmFormat(rate, width, channels)
    data = bytes(range(256)) * (frames * width * channels // 256 + 1)
    data = data[: frames * width * channels]
    out = _convert_in_pieces(fmt, data, cuts)
    assert len(out) % 2 == 0
    expected = frames * 16000 / rate
    assert abs(len(out) / 2 - expected) <= 2


def test_16khz_mono_passes_through_unchanged() -> None:
    data = bytes(range(200))
    assert PcmConverter(PcmFormat(16000, 2, 1)).convert(data) == data


def test_stereo_is_mixed_and_8bit_is_unsigned() -> None:
    left_right = audioop.tostereo(b"\x10\x00" * 100, 2, 1.0, 0.0)
    mono = PcmConverter(PcmFormat(16000, 2, 2)).convert(left_right)
    assert mono == b"\x08\x00" * 100
    silence_8bit = b"\x80" * 100  # unsigned 8-bit silence
    assert PcmConverter(PcmFormat(16000, 1, 1)).convert(silence_8bit) == b"\x00\x00" * 100


@pytest.mark.parametrize(
    "fmt",
    [PcmFormat(0, 2, 1), PcmFormat(16000, 5, 1), PcmFormat(16000, 2, 0), PcmFormat(16000, 2, 99)],
)
def test_impossible_formats_are_rejected(fmt: PcmFormat) -> None:
    with pytest.raises(AudioFormatError):
        PcmConverter(fmt)
