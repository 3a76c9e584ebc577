"""ALSA capture without a sound card: the ``file`` plugin defined in ``asoundrc``.

A regular file is read unpaced and never reports its end, so tests bound the capture to
``periods(len(pcm))`` reads. A FIFO is read only as fast as the test writes into it, which
gives a real, paced ALSA device.
"""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wyoming_server.mic.alsa import AlsaSource, CaptureConfig, MicDeviceError

pytest.importorskip(
    "alsaaudio", reason="pip install 'wyoming-qwen-asr[mic]' (needs libasound2-dev)"
)

ASOUNDRC = Path(__file__).resolve().parent / "asoundrc"
PERIOD_SAMPLES = 1024
PERIOD_BYTES = PERIOD_SAMPLES * 2


def periods(size: int, period_bytes: int = PERIOD_BYTES) -> int:
    return math.ceil(size / period_bytes)


@pytest.fixture(autouse=True)
def alsa_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # alsa-lib re-reads ALSA_CONFIG_PATH at every open, so setting it per test is enough.
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"/usr/share/alsa/alsa.conf:{ASOUNDRC}")


@pytest.fixture
def device_dir() -> Iterator[Path]:
    # ALSA splits device arguments at ',' and '=', so keep the path plain.
    path = Path(tempfile.mkdtemp(prefix="mictest"))
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.fixture
def raw_device(device_dir: Path) -> object:
    """``raw_device(pcm) -> "testfile:/tmp/.../in.raw"``."""

    def _make(pcm: bytes, name: str = "in.raw") -> str:
        path = device_dir / name
        # Whole periods: a period read past the file's end gets stale samples from ALSA.
        path.write_bytes(pcm + bytes(-len(pcm) % PERIOD_BYTES))
        return f"testfile:{path}"

    return _make


class FifoDevice:
    """A capture device fed by the test, period by period."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.device = f"testfile:{path}"
        # Opened read-write so neither side blocks in open() and the reader never sees EOF.
        self._fd = os.open(path, os.O_RDWR)

    def _write_blocking(self, pcm: bytes, realtime: float | None) -> None:
        pcm += bytes(-len(pcm) % PERIOD_BYTES)  # whole periods: each write is atomic
        for start in range(0, len(pcm), PERIOD_BYTES):
            os.write(self._fd, pcm[start : start + PERIOD_BYTES])
            if realtime:
                time.sleep(PERIOD_SAMPLES / 16000 / realtime)

    async def write(self, pcm: bytes, realtime: float | None = None) -> None:
        """Write ``pcm``; ``realtime=2.0`` paces it at twice real time."""
        await asyncio.to_thread(self._write_blocking, pcm, realtime)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@pytest.fixture
def fifo_device(device_dir: Path) -> Iterator[FifoDevice]:
    fifo = FifoDevice(device_dir / "live.fifo")
    yield fifo
    fifo.close()


async def stop_fed_capture(capture: object, fifo: FifoDevice) -> None:
    """Stop a capture reading a FIFO: its thread may be blocked waiting for the next period."""
    from wyoming_server.mic.capture import MicCapture  # noqa: PLC0415

    assert isinstance(capture, MicCapture)
    stopping = asyncio.create_task(capture.stop())
    await asyncio.sleep(0)  # stop() has set the flag; now unblock the read with end-of-file
    fifo.close()
    async with asyncio.timeout(5):
        await stopping


async def feed_silence_until(
    task: asyncio.Future[Any], fifo: FifoDevice, speed: float = 4.0
) -> None:
    """Keep a FIFO device's reader moving (real time x ``speed``) until ``task`` is done."""
    async with asyncio.timeout(15):
        while not task.done():
            await fifo.write(bytes(PERIOD_BYTES))
            await asyncio.wait({task}, timeout=PERIOD_SAMPLES / 16000 / speed)


class FailingOnce:
    """Opens the real ALSA device; the Nth read fails as an unplugged USB microphone does.

    The file plugin cannot fail a read (alsa-lib ignores errors of its input file), so only
    that one read error is injected; the reopen attempts that follow are real ALSA opens,
    failing while the input file is gone and succeeding once it is back.
    """

    def __init__(self, path: Path, fail_at: int) -> None:
        self.path = path
        self.fail_at = fail_at
        self.reads = 0
        self.opens = 0
        self.open_errors = 0
        self.gone_for_a_while = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def __call__(self, config: CaptureConfig) -> AlsaSource:
        self.opens += 1
        try:
            source = AlsaSource(config)
        except MicDeviceError:
            self.open_errors += 1
            if self.open_errors == 2:  # real ALSA opens failed twice: the device is away
                self._loop.call_soon_threadsafe(self.gone_for_a_while.set)
            raise
        original = source.read

        def read() -> bytes:
            self.reads += 1
            data = original()
            if self.reads == self.fail_at:
                self.path.rename(self.path.with_suffix(".gone"))  # unplugged
                raise MicDeviceError(f"microphone {config.device!r} failed: No such device")
            return data

        source.read = read  # type: ignore[method-assign]
        return source
