"""Capture through real ALSA (the file plugin): exact bytes, conversion, fan-out, failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from wyoming_server.audio import PcmConverter, PcmFormat
from wyoming_server.mic.alsa import CaptureConfig, MicDeviceError
from wyoming_server.mic.capture import MicCapture, MicChunk
from wyoming_server.mic.fanout import Subscription

from .conftest import PERIOD_BYTES, FailingOnce, FifoDevice, periods, stop_fed_capture


async def collect(subscription: Subscription[MicChunk], timeout: float = 10) -> list[MicChunk]:
    chunks = []
    async with asyncio.timeout(timeout):
        async for chunk in subscription:
            chunks.append(chunk)
    return chunks


async def test_capture_returns_the_fixture_bytes(
    speech_pcm: Callable[..., bytes], raw_device: Callable[[bytes], str]
) -> None:
    pcm = speech_pcm("turn_on_kitchen_lights")
    capture = MicCapture(CaptureConfig(raw_device(pcm)), max_periods=periods(len(pcm)))
    await capture.start()
    chunks = await collect(capture.subscribe(backlog=10_000))
    await capture.stop()

    assert b"".join(c.audio for c in chunks)[: len(pcm)] == pcm
    assert all(len(c.audio) == PERIOD_BYTES for c in chunks)
    # 1024 samples at 16 kHz = 64 ms per chunk
    assert [c.timestamp_ms for c in chunks] == [64 * i for i in range(len(chunks))]


async def test_capture_converts_what_the_device_gives(raw_device: Callable[[bytes], str]) -> None:
    # 48 kHz stereo from the device; consumers always get 16 kHz mono.
    frames = 48_000
    stereo = bytes((i * 7) % 256 for i in range(frames * 4))
    config = CaptureConfig(raw_device(stereo), rate=48_000, channels=2, samples_per_chunk=960)
    capture = MicCapture(config, max_periods=periods(len(stereo), config.period_bytes))
    await capture.start()
    chunks = await collect(capture.subscribe(backlog=10_000))
    await capture.stop()

    converter = PcmConverter(PcmFormat(48_000, 2, 2))
    expected = b"".join(
        converter.convert(stereo[i : i + config.period_bytes])
        for i in range(0, len(stereo), config.period_bytes)
    )
    assert b"".join(c.audio for c in chunks) == expected
    assert abs(len(expected) - 32_000) <= 4  # one second of 16 kHz 16-bit mono
    assert chunks[1].timestamp_ms == 20  # 960 frames at 48 kHz


async def test_missing_device_is_one_clear_error(device_dir: Path) -> None:
    capture = MicCapture(CaptureConfig(f"testfile:{device_dir}/absent.raw"))
    with pytest.raises(MicDeviceError) as info:
        await capture.start()
    message = str(info.value)
    assert "\n" not in message
    assert f"cannot open microphone 'testfile:{device_dir}/absent.raw'" in message
    assert "--mic-list" in message
    assert not capture.running


async def test_fan_out_to_two_consumers(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    pcm = speech_pcm("what_time_is_it")
    capture = MicCapture(CaptureConfig(fifo_device.device))
    await capture.start()
    first, second = capture.subscribe(backlog=1000), capture.subscribe(backlog=1000)
    await fifo_device.write(pcm)
    wanted = periods(len(pcm))
    async with asyncio.timeout(10):
        got_first = [await first.get() for _ in range(wanted)]
        got_second = [await second.get() for _ in range(wanted)]
    await stop_fed_capture(capture, fifo_device)

    assert got_first == got_second
    assert b"".join(c.audio for c in got_first if c)[: len(pcm)] == pcm


async def test_a_slow_consumer_drops_only_its_own_oldest_chunks(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    pcm = speech_pcm("two_commands")
    wanted = periods(len(pcm))
    capture = MicCapture(CaptureConfig(fifo_device.device))
    await capture.start()
    slow = capture.subscribe(backlog=4, name="slow")
    fast = capture.subscribe(backlog=1000, name="fast")
    writing = asyncio.create_task(fifo_device.write(pcm, realtime=8.0))
    received: list[MicChunk] = []
    async with asyncio.timeout(15):
        while len(received) < wanted:  # the fast one keeps up while the slow one never reads
            chunk = await fast.get()
            assert chunk is not None
            received.append(chunk)
    await writing
    await stop_fed_capture(capture, fifo_device)

    assert b"".join(c.audio for c in received)[: len(pcm)] == pcm
    assert slow.dropped == wanted - 4
    leftover = [await slow.get() for _ in range(4)]
    assert leftover == received[-4:]  # it kept the newest
    assert await slow.get() is None  # and then sees the end of the capture


async def test_device_failing_mid_run_recovers(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice, caplog: pytest.LogCaptureFixture
) -> None:
    pcm = speech_pcm("what_time_is_it")[: PERIOD_BYTES * 10]
    opener = FailingOnce(fifo_device.path, fail_at=6)
    capture = MicCapture(CaptureConfig(fifo_device.device), opener=opener, backoff=(0.05, 0.2))
    await capture.start()
    consumer = capture.subscribe(backlog=1000)
    await fifo_device.write(pcm[: PERIOD_BYTES * 5])
    async with asyncio.timeout(10):
        before = [await consumer.get() for _ in range(5)]
        await fifo_device.write(bytes(PERIOD_BYTES))  # consumed by the failing read
        await opener.gone_for_a_while.wait()
        fifo_device.path.with_suffix(".gone").rename(fifo_device.path)  # plugged back in
        await fifo_device.write(pcm[PERIOD_BYTES * 5 :])
        after = [await consumer.get() for _ in range(5)]
    await stop_fed_capture(capture, fifo_device)

    assert capture.failures == 1 and capture.recoveries == 1
    assert b"".join(c.audio for c in before if c) == pcm[: PERIOD_BYTES * 5]
    assert b"".join(c.audio for c in after if c) == pcm[PERIOD_BYTES * 5 :]
    stamps = [c.timestamp_ms for c in before + after if c]
    assert stamps == sorted(stamps) and stamps[5] >= stamps[4] + 64
    assert "failed: No such device; retrying" in caplog.text
    assert "is back" in caplog.text
