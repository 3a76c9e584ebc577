"""``listen`` survives a service error or a dropped connection: it says so on screen, waits,
opens a new session and goes on transcribing the microphone (a real ALSA FIFO device)."""

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
from wyoming_server.mic.listen import run_listen
from wyoming_server.settings import ServerSettings

from .conftest import FifoDevice, feed_silence_until

KITCHEN = "Turn on the kitchen lights."


def listen_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_listen_arguments(parser)
    return parser.parse_args(list(argv))


class _Finals(io.StringIO):
    """Captured stdout (JSON lines) that tells the test when a final was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.final = asyncio.Event()

    def write(self, text: str) -> int:
        if '"final"' in text:
            self.final.set()
        return super().write(text)


async def _until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("failure", ["service-error", "dropped-connection"])
async def test_listen_reconnects_after_a_failure_and_keeps_transcribing(
    speech_pcm: Callable[..., bytes],
    fifo_device: FifoDevice,
    capsys: pytest.CaptureFixture[str],
    failure: str,
) -> None:
    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer([KITCHEN])
    ) as emulator:
        if failure == "service-error":
            emulator.faults.error_after_events = 2  # after session.created and .updated
        else:
            emulator.faults.drop_after_audio_ms = 200
        settings = ServerSettings(
            api_key="test-key", endpoint=emulator.url, language="en", vad=VadConfig(0.0, 400)
        )
        out = _Finals()
        args = listen_args("--mic-device", fifo_device.device, "--json")
        listening = asyncio.ensure_future(run_listen(args, settings, out=out))
        # A live microphone runs at real time: faster, the client's backlog pacing (VAD mode)
        # would fall further and further behind the device.
        feeding = asyncio.ensure_future(feed_silence_until(listening, fifo_device, speed=1.0))
        # The first session fails; then the fault is gone and listen opens the second.
        await _until(lambda: emulator.sessions and emulator.sessions[0].closed_at is not None)
        emulator.faults.reset()
        await _until(
            lambda: (
                len(emulator.sessions) > 1
                and "session.updated" in emulator.sessions[1].server_types
            )
        )
        assert not listening.done()
        await fifo_device.write(speech_pcm("turn_on_kitchen_lights"), realtime=1.0)
        async with asyncio.timeout(10):
            await out.final.wait()
        os.kill(os.getpid(), signal.SIGINT)
        async with asyncio.timeout(15):
            status = await listening
        await feeding

    assert status == 0
    err = capsys.readouterr().err
    assert "Qwen session ended:" in err and "reconnecting in 1 s" in err, err
    assert "reconnecting to Qwen" in err
    finals = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [event["text"] for event in finals if event["type"] == "final"] == [KITCHEN]


async def test_a_rejected_key_still_ends_listen(
    fifo_device: FifoDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retrying cannot fix a wrong key: exit 1 with the reason, no reconnect loop."""
    async with QwenEmulator(api_keys=frozenset({"test-key"})) as emulator:
        settings = ServerSettings(api_key="wrong-key", endpoint=emulator.url)
        listening = asyncio.ensure_future(
            run_listen(listen_args("--mic-device", fifo_device.device), settings, out=io.StringIO())
        )
        feeding = asyncio.ensure_future(feed_silence_until(listening, fifo_device))
        async with asyncio.timeout(10):
            status = await listening
        await feeding
    assert status == 1
    err = capsys.readouterr().err
    assert "Authentication failed" in err and "reconnecting" not in err
