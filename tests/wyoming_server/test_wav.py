"""``transcribe`` reads every PCM WAV: extensible, integer and float, any rate and channels."""

from __future__ import annotations

import dataclasses
import math
import re
import struct
import subprocess
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server_helpers import settings_for
from wyoming_server.emulator import QwenEmulator
from wyoming_server.transcribe import transcribe_file
from wyoming_server.wav import WavError, read_wav

ORIGINAL = "what_time_is_it.wav"
# The sub-format GUIDs of WAVE_FORMAT_EXTENSIBLE: the format tag, then a fixed tail.
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def sox(source: Path, target: Path, *options: str) -> Path:
    """Convert with sox (installed by CI's apt step), as a user's recorder would write it."""
    subprocess.run(["sox", str(source), *options, str(target)], check=True, timeout=30)
    return target


def format_tag(path: Path) -> int:
    tag: int = struct.unpack("<H", path.read_bytes()[20:22])[0]
    return tag


def wav_bytes(
    tag: int, channels: int, rate: int, bits: int, data: bytes, *, sub_tag: int | None = None
) -> bytes:
    """A WAV file written by hand: a plain fmt chunk, or an extensible one for ``sub_tag``."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if sub_tag is not None:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", sub_tag) + GUID_TAIL
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde\x00"  # an odd chunk, padded, skipped
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def relative_error(pcm: bytes, reference: bytes) -> float:
    got, want = array("h", pcm), array("h", reference)
    assert abs(len(got) - len(want)) <= 2  # resampling twice may round off a sample
    noise = sum((a - b) ** 2 for a, b in zip(got, want, strict=False))
    return math.sqrt(noise / sum(b * b for b in want))


@pytest.mark.parametrize(
    ("options", "tag"),
    [
        (("-r", "48000", "-c", "2", "-b", "32", "-e", "signed-integer"), 0xFFFE),
        (("-r", "44100", "-c", "2", "-b", "24", "-e", "signed-integer"), 0xFFFE),
        (("-c", "3", "-b", "16", "-e", "signed-integer"), 0xFFFE),
        (("-b", "8", "-e", "unsigned-integer"), 0x0001),
        (("-r", "22050", "-b", "32", "-e", "floating-point"), 0x0003),
        (("-r", "8000", "-b", "64", "-e", "floating-point"), 0x0003),
    ],
)
def test_every_pcm_layout_reads_as_the_original_audio(
    fixture_path: Callable[[str], Path], tmp_path: Path, options: tuple[str, ...], tag: int
) -> None:
    original = read_wav(fixture_path(ORIGINAL))
    path = sox(fixture_path(ORIGINAL), tmp_path / "converted.wav", *options)
    assert format_tag(path) == tag  # the layout the case is about
    audio = read_wav(path)
    assert audio.format == original.format  # 16 kHz 16-bit mono, as the session takes it
    # As long as the original and close to it (8-bit and 8 kHz lose the most).
    assert relative_error(audio.pcm, original.pcm) < 0.25


def test_float_samples_are_clipped_to_16_bits(tmp_path: Path) -> None:
    samples = [0.5, -0.25, 2.0, -3.0, float("nan"), 1.0, -1.0]
    path = tmp_path / "float.wav"
    data = struct.pack(f"<{len(samples)}f", *samples)
    path.write_bytes(wav_bytes(0xFFFE, 1, 16000, 32, data, sub_tag=0x0003))
    pcm = array("h", read_wav(path).pcm)
    assert list(pcm) == [16383, -8191, 32767, -32768, 0, 32767, -32767]


def test_float_samples_in_range_scale_to_full_16_bits(tmp_path: Path) -> None:
    samples = [0.5, -0.25, 1.0, -1.0, 0.0]
    path = tmp_path / "float.wav"
    path.write_bytes(wav_bytes(0x0003, 1, 16000, 32, struct.pack("<5f", *samples)))
    assert array("h", read_wav(path).pcm).tolist() == [16383, -8191, 32767, -32767, 0]


def test_extensible_integer_pcm_written_by_hand_is_read(tmp_path: Path) -> None:
    path = tmp_path / "int.wav"
    data = struct.pack("<4h", 1000, -1000, 32767, -32768)
    path.write_bytes(wav_bytes(0xFFFE, 1, 16000, 16, data, sub_tag=0x0001))
    assert array("h", read_wav(path).pcm).tolist() == [1000, -1000, 32767, -32768]


@pytest.mark.parametrize(
    ("encoding", "message"),
    [("a-law", "A-law"), ("u-law", "µ-law"), ("ima-adpcm", "IMA ADPCM")],
)
def test_a_file_that_is_not_pcm_is_refused_naming_its_format(
    fixture_path: Callable[[str], Path], tmp_path: Path, encoding: str, message: str
) -> None:
    path = sox(fixture_path(ORIGINAL), tmp_path / "coded.wav", "-e", encoding)
    with pytest.raises(WavError, match=f"{message}.*not PCM") as err:
        read_wav(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "truncated header"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "truncated header"),
        (b"ID3\x03" + bytes(40), "not a WAV file"),
        (wav_bytes(0xFFFE, 1, 16000, 16, b"\x00" * 4, sub_tag=0x0002), "0x0002 (Microsoft ADPCM)"),
        (wav_bytes(0x0001, 1, 16000, 12, b"\x00" * 4), "12-bit integer PCM"),
        (b"RF64\xff\xff\xff\xffWAVE" + bytes(40), "RF64/BW64 WAV is not supported"),
        (wav_bytes(0x0001, 1, 500, 16, b"\x00" * 4), "sample rate 500"),
    ],
    ids=["no-fmt", "short-fmt", "mp3", "adpcm-extensible", "12-bit", "rf64", "500-hz"],
)
def test_a_broken_or_unsupported_header_gets_a_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(WavError, match=re.escape(message)):
        read_wav(path)


def test_a_file_longer_than_the_limit_is_cut_there(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(0x0001, 2, 48000, 16, b"\x01\x00" * 2 * 48000 * 3))
    audio = read_wav(path, max_seconds=1.0)
    assert audio.truncated and audio.seconds == pytest.approx(1.0, abs=0.01)
    assert not read_wav(path, max_seconds=3.0).truncated


def test_a_data_size_the_recorder_never_wrote_reads_what_is_there(tmp_path: Path) -> None:
    content = bytearray(wav_bytes(0x0001, 1, 16000, 16, b"\x02\x00" * 16000))
    content[-32000 - 4 : -32000] = b"\xff\xff\xff\xff"  # the data chunk's size, unknown
    path = tmp_path / "streamed.wav"
    path.write_bytes(bytes(content))
    assert read_wav(path).seconds == pytest.approx(1.0)


async def test_transcribe_notes_a_file_cut_at_the_longest_request(
    emulator: QwenEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(0x0001, 1, 16000, 16, b"\x00\x00" * 16000 * 3))
    settings = dataclasses.replace(settings_for(emulator), max_request_seconds=1.0)
    await transcribe_file(settings, path, realtime=False)
    assert "longer than 1 s" in capsys.readouterr().err
    # One second at 16 kHz 16-bit mono, not three.
    assert emulator.sessions[-1].audio_bytes == 32000


async def test_a_48_khz_stereo_32_bit_extensible_wav_transcribes_like_the_original(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path], tmp_path: Path
) -> None:
    pocketsphinx = pytest.importorskip("wyoming_server.emulator.sphinx_recognizer")
    emulator.recognizer_factory = pocketsphinx.PocketSphinxRecognizer()
    extensible = sox(
        fixture_path(ORIGINAL),
        tmp_path / "recorder.wav",
        *("-r", "48000", "-c", "2", "-b", "32", "-e", "signed-integer"),
    )
    assert format_tag(extensible) == 0xFFFE
    settings = settings_for(emulator)
    original = await transcribe_file(settings, fixture_path(ORIGINAL), realtime=False)
    assert original == "what time is it"
    assert await transcribe_file(settings, extensible, realtime=False) == original
