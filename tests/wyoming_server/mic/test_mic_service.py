"""The Wyoming mic service, read by a real ``wyoming`` client as wyoming-satellite does."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from wyoming_server.addresses import ListenAddress
from wyoming_server.cli.access_options import add_access_arguments
from wyoming_server.cli.mic_options import add_mic_arguments
from wyoming_server.mic.alsa import CaptureConfig, MicDeviceError
from wyoming_server.mic.capture import MicCapture
from wyoming_server.mic.service import MicService, start_mic_service

from .conftest import PERIOD_BYTES, FailingOnce, FifoDevice, feed_silence_until


async def read_audio(client: AsyncTcpClient, size: int) -> tuple[bytes, list[int], bool]:
    """Chunks (after ``wait_started``) until ``size`` bytes: (audio, timestamps, Info seen)."""
    audio, stamps, info = b"", [], False
    async with asyncio.timeout(10):
        while len(audio) < size:
            event = await client.read_event()
            assert event is not None
            if Info.is_type(event.type):
                program = Info.from_event(event).mic[0]
                assert (program.mic_format.rate, program.mic_format.width) == (16000, 2)
                assert program.mic_format.channels == 1
                info = True
            elif AudioChunk.is_type(event.type):
                chunk = AudioChunk.from_event(event)
                assert (chunk.rate, chunk.width, chunk.channels) == (16000, 2, 1)
                audio += chunk.audio
                assert chunk.timestamp is not None
                stamps.append(chunk.timestamp)
    return audio, stamps, info


async def wait_started(client: AsyncTcpClient) -> None:
    """The first event a client receives is AudioStart."""
    async with asyncio.timeout(5):
        event = await client.read_event()
    assert event is not None and AudioStart.is_type(event.type)


async def test_mic_service_streams_the_capture(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    pcm = speech_pcm("turn_on_kitchen_lights")
    capture = MicCapture(CaptureConfig(fifo_device.device))
    await capture.start()
    service = MicService(capture)
    await service.start(ListenAddress("tcp", host="127.0.0.1", port=0))
    try:
        async with AsyncTcpClient("127.0.0.1", service.bound_port) as client:
            await wait_started(client)  # subscribed: everything written from now on is ours
            await client.write_event(Describe().event())
            await fifo_device.write(pcm, realtime=4.0)
            audio, stamps, info = await read_audio(client, len(pcm))
    finally:
        await feed_silence_until(asyncio.ensure_future(service.stop()), fifo_device)

    assert info
    assert audio[: len(pcm)] == pcm
    assert stamps == sorted(stamps) and stamps[1] - stamps[0] == 64


async def test_start_mic_service_from_arguments_serves_two_clients(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    parser = argparse.ArgumentParser()
    add_mic_arguments(parser)
    args = parser.parse_args(["--mic-uri", "tcp://127.0.0.1:0", "--mic-device", fifo_device.device])
    pcm = speech_pcm("what_time_is_it")
    service = await start_mic_service(args)
    try:
        async with (
            AsyncTcpClient("127.0.0.1", service.bound_port) as first,
            AsyncTcpClient("127.0.0.1", service.bound_port) as second,
        ):
            await wait_started(first)
            await wait_started(second)
            await fifo_device.write(pcm, realtime=4.0)
            (audio_1, _, _), (audio_2, _, _) = await asyncio.gather(
                read_audio(first, len(pcm)), read_audio(second, len(pcm))
            )
    finally:
        await feed_silence_until(asyncio.ensure_future(service.stop()), fifo_device)
    assert audio_1[: len(pcm)] == pcm
    assert audio_2[: len(pcm)] == pcm


async def test_start_mic_service_with_a_missing_device(device_dir: object) -> None:
    parser = argparse.ArgumentParser()
    add_mic_arguments(parser)
    args = parser.parse_args(
        ["--mic-uri", "tcp://127.0.0.1:0", "--mic-device", f"testfile:{device_dir}/absent.raw"]
    )
    with pytest.raises(MicDeviceError, match="cannot open microphone"):
        await start_mic_service(args)


async def test_clients_stay_connected_while_the_microphone_recovers(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    pcm = speech_pcm("what_time_is_it")[: PERIOD_BYTES * 10]
    opener = FailingOnce(fifo_device.path, fail_at=6)
    capture = MicCapture(CaptureConfig(fifo_device.device), opener=opener, backoff=(0.05, 0.2))
    await capture.start()
    service = MicService(capture)
    await service.start(ListenAddress("tcp", host="127.0.0.1", port=0))
    try:
        async with AsyncTcpClient("127.0.0.1", service.bound_port) as client:
            await wait_started(client)
            await fifo_device.write(pcm[: PERIOD_BYTES * 5])
            before, _, _ = await read_audio(client, PERIOD_BYTES * 5)
            await fifo_device.write(bytes(PERIOD_BYTES))  # consumed by the failing read
            async with asyncio.timeout(10):
                await opener.gone_for_a_while.wait()
            fifo_device.path.with_suffix(".gone").rename(fifo_device.path)  # plugged back in
            await fifo_device.write(pcm[PERIOD_BYTES * 5 :])
            # The same connection goes on receiving audio after the device came back.
            after, _, _ = await read_audio(client, PERIOD_BYTES * 5)
    finally:
        await feed_silence_until(asyncio.ensure_future(service.stop()), fifo_device)

    assert capture.failures == 1 and capture.recoveries == 1
    assert before == pcm[: PERIOD_BYTES * 5]
    assert after == pcm[PERIOD_BYTES * 5 :]


async def test_a_mic_client_outside_allow_clients_is_closed(
    fifo_device: FifoDevice, caplog: pytest.LogCaptureFixture
) -> None:
    """Whoever reaches the mic port hears the room: the same --allow-clients as the STT."""
    parser = argparse.ArgumentParser()
    add_mic_arguments(parser)
    add_access_arguments(parser)
    mic = ["--mic-uri", "tcp://127.0.0.1:0", "--mic-device", fifo_device.device]
    args = parser.parse_args([*mic, "--allow-clients", "127.0.0.3/32"])
    service = await start_mic_service(args)
    try:
        port = service.bound_port
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.2", 0)
        )
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # closed: no AudioStart, no audio
        writer.close()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, local_addr=("127.0.0.3", 0)
        )
        async with asyncio.timeout(10):
            line = await reader.readline()
        assert b'"audio-start"' in line
        writer.close()
    finally:
        await feed_silence_until(asyncio.ensure_future(service.stop()), fifo_device)
    assert "Refused a mic client from 127.0.0.2" in caplog.text
