"""``listen``: microphone (real ALSA file plugin) -> Qwen emulator -> transcripts on stdout."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
from collections.abc import Callable

import pytest
from qwen_asr_realtime import VadConfig

from wyoming_server.cli.mic_options import add_listen_arguments
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.mic.alsa import CaptureConfig
from wyoming_server.mic.capture import MicCapture
from wyoming_server.mic.listen import run_listen
from wyoming_server.settings import ServerSettings

from .conftest import FifoDevice, feed_silence_until, periods


def listen_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_listen_arguments(parser)
    return parser.parse_args(list(argv))


def bounded_capture(device: str, size: int) -> MicCapture:
    return MicCapture(CaptureConfig(device), max_periods=periods(size))


async def test_listen_prints_the_fixture_transcripts(
    speech_pcm: Callable[..., bytes], raw_device: Callable[[bytes], str]
) -> None:
    pcm = speech_pcm("two_commands") + bytes(32000)
    script = ["Stop the music.", "Open the garage door."]
    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer(script)
    ) as emulator:
        settings = ServerSettings(api_key="test-key", endpoint=emulator.url, language="en")
        out = io.StringIO()
        device = raw_device(pcm)
        status = await run_listen(
            listen_args("--mic-device", device),
            settings,
            capture=bounded_capture(device, len(pcm)),
            out=out,
        )
    assert status == 0
    assert out.getvalue().splitlines() == script


class _Watched(io.StringIO):
    """Captured stdout that tells the test when a JSON partial was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.partial = asyncio.Event()

    def write(self, text: str) -> int:
        if '"partial"' in text:
            self.partial.set()
        return super().write(text)


async def test_ctrl_c_finishes_the_session_and_prints_the_last_utterance(
    speech_pcm: Callable[..., bytes], fifo_device: FifoDevice
) -> None:
    async with QwenEmulator(
        api_keys=frozenset({"test-key"}),
        recognizer_factory=ScriptedRecognizer(["Turn on the kitchen lights."], ms_per_word=100),
    ) as emulator:
        # Long VAD silence: only session.finish (Ctrl-C) can end this utterance.
        settings = ServerSettings(
            api_key="test-key", endpoint=emulator.url, vad=VadConfig(0.0, 6000)
        )
        out = _Watched()
        args = listen_args("--mic-device", fifo_device.device, "--json")
        listening = asyncio.ensure_future(run_listen(args, settings, out=out))
        feeding = asyncio.ensure_future(feed_silence_until(listening, fifo_device))
        await fifo_device.write(speech_pcm("turn_on_kitchen_lights"), realtime=4.0)
        async with asyncio.timeout(10):
            await out.partial.wait()
        os.kill(os.getpid(), signal.SIGINT)
        async with asyncio.timeout(15):
            status = await listening
        await feeding

    assert status == 0
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"speech_started", "partial", "final"} <= {event["type"] for event in events}
    finals = [event for event in events if event["type"] == "final"]
    assert [event["text"] for event in finals] == ["Turn on the kitchen lights."]


async def test_listen_without_a_key_uses_the_offline_emulator(
    speech_pcm: Callable[..., bytes], raw_device: Callable[[bytes], str]
) -> None:
    pytest.importorskip("pocketsphinx")
    pcm = speech_pcm("turn_on_kitchen_lights") + bytes(32000)
    device = raw_device(pcm)
    out = io.StringIO()
    status = await run_listen(
        listen_args("--mic-device", device),
        ServerSettings(api_key="", language="en"),
        capture=bounded_capture(device, len(pcm)),
        out=out,
    )
    assert status == 0
    assert out.getvalue().strip().lower().rstrip(".") == "turn on the kitchen lights"


async def test_listen_with_a_missing_device_exits_2(
    capsys: pytest.CaptureFixture[str], device_dir: object
) -> None:
    device = f"testfile:{device_dir}/absent.raw"
    status = await run_listen(listen_args("--mic-device", device), ServerSettings(api_key="k"))
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"wyoming-qwen-asr: error: cannot open microphone '{device}'")
