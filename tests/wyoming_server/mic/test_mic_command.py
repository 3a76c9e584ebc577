"""``wyoming-qwen-asr mic``: the mic service as a process of its own, loopback by default."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from tests.support.ports import free_port
from wyoming_server.addresses import parse_uri
from wyoming_server.cli.parser import parse_args
from wyoming_server.mic.exposure import exposure_warning, is_private_address

from .conftest import ASOUNDRC, FifoDevice

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}


def test_the_mic_command_listens_on_loopback_by_default() -> None:
    args = parse_args(["mic"])
    assert (args.command, args.mic_uri, args.mic_device) == (
        "mic",
        "tcp://127.0.0.1:10301",
        "default",
    )
    assert parse_args(["serve"]).mic_uri is None  # serve's own mic service stays opt-in
    assert (
        parse_args(["mic", "--mic-uri", "unix:///run/mic.sock"]).mic_uri == "unix:///run/mic.sock"
    )


@pytest.mark.parametrize(
    ("uri", "private"),
    [
        ("tcp://127.0.0.1:10301", True),
        ("tcp://127.0.0.53:10301", True),
        ("tcp://[::1]:10301", True),
        ("tcp://localhost:10301", True),
        ("unix:///run/qwen-mic.sock", True),
        ("tcp://0.0.0.0:10301", False),
        ("tcp://[::]:10301", False),
        ("tcp://192.168.1.20:10301", False),
        ("tcp://raspberrypi.local:10301", False),
    ],
)
def test_only_loopback_and_unix_sockets_are_private(uri: str, private: bool) -> None:
    address = parse_uri(uri)
    assert is_private_address(address) is private
    warning = exposure_warning(uri, address)
    if private:
        assert warning is None
    else:
        assert warning is not None
        assert uri in warning and "anyone who can reach that address can listen" in warning
        assert f"tcp://127.0.0.1:{address.port}" in warning


async def _start_mic(device: str, *argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "mic",
        "--mic-device",
        device,
        *argv,
        stderr=asyncio.subprocess.PIPE,
        env={**CLEAN_ENV, "ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{ASOUNDRC}"},
    )


async def _read_until(proc: asyncio.subprocess.Process, text: str) -> str:
    assert proc.stderr is not None
    seen = ""
    async with asyncio.timeout(20):
        while text not in seen:
            line = await proc.stderr.readline()
            assert line, f"the mic service exited: {seen}"
            seen += line.decode()
    return seen


async def test_the_mic_command_serves_the_capture_and_stops_on_sigterm(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    port = free_port()
    proc = await _start_mic(fifo_device.device, "--mic-uri", f"tcp://127.0.0.1:{port}")
    try:
        log = await _read_until(proc, "Mic service ready")
        assert "WARNING" not in log  # loopback: nothing to warn about
        pcm = speech_pcm("what_time_is_it")
        async with AsyncTcpClient("127.0.0.1", port) as client:
            async with asyncio.timeout(10):
                first = await client.read_event()
            assert first is not None and AudioStart.is_type(first.type)
            await client.write_event(Describe().event())
            writing = asyncio.create_task(fifo_device.write(pcm, realtime=4.0))
            audio, info = b"", None
            async with asyncio.timeout(15):
                while len(audio) < len(pcm):
                    event = await client.read_event()
                    assert event is not None
                    if Info.is_type(event.type):
                        info = Info.from_event(event)
                    elif AudioChunk.is_type(event.type):
                        audio += AudioChunk.from_event(event).audio
            await writing
        assert info is not None and info.mic[0].mic_format.rate == 16000
        assert audio[: len(pcm)] == pcm
        proc.send_signal(signal.SIGTERM)
        feeding = asyncio.create_task(fifo_device.write(bytes(32000), realtime=4.0))
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
        feeding.cancel()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_the_mic_command_with_a_missing_device_exits_2(tmp_path: Path) -> None:
    proc = await _start_mic(f"testfile:{tmp_path}/absent.raw", "--mic-uri", "tcp://127.0.0.1:0")
    async with asyncio.timeout(20):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "cannot open microphone" in err.decode()
