"""The Pi's whole path, run with the installed server's Python (the arm64 CI step runs it in
the arm64 root after the README's recipe): the mic service on a live ALSA capture,
wyoming-satellite from its own venv, Home Assistant's part played by this script, speech to
text through the server in front of the emulator (pocketsphinx). Exit 0: the transcript is
right. Usage: python pi_check.py SATELLITE_PYTHON
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import wave
from pathlib import Path

# The repository, for tests.support only: appended, so wyoming_server is the installed one.
sys.path.append(str(Path(__file__).resolve().parents[3]))

from tests.support.ports import free_port
from tests.support.satellite.home_assistant import SatelliteConnection, speech_to_text
from tests.support.satellite.live_mic import LiveMicrophone
from tests.support.satellite.processes import start_mic_service, start_satellite
from wyoming_server.addresses import ListenAddress
from wyoming_server.emulator import QwenEmulator
from wyoming_server.emulator.sphinx_recognizer import PocketSphinxRecognizer
from wyoming_server.server import QwenAsrServer
from wyoming_server.settings import Endpointing, ServerSettings

TESTS = Path(__file__).resolve().parents[2]
COMMAND = "turn on the kitchen lights"


def speech() -> bytes:
    with wave.open(str(TESTS / "fixtures" / "turn_on_kitchen_lights.wav"), "rb") as wav:
        return wav.readframes(wav.getnframes())


async def check(satellite_python: Path, logs: Path) -> str:
    mic_port, satellite_port = free_port(), free_port()
    microphone = LiveMicrophone()
    async with QwenEmulator(
        api_keys=frozenset({"pi-key"}), recognizer_factory=PocketSphinxRecognizer()
    ) as emulator:
        settings = ServerSettings(
            api_key="pi-key", endpoint=emulator.url, language="en", endpointing=Endpointing.QWEN
        )
        server = QwenAsrServer(settings)
        await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
        mic = start_mic_service(microphone.device, mic_port, logs / "mic.log")
        processes = [mic]
        satellite = SatelliteConnection(satellite_port)
        try:
            await mic.wait_for_log("Mic service ready", timeout=120)
            log = logs / "satellite.log"
            processes.insert(0, start_satellite(satellite_python, satellite_port, mic_port, log))
            await satellite.connect()
            await satellite.run_satellite()
            await satellite.next_chunk()
            microphone.say(speech())
            return await speech_to_text(satellite, server.bound_port)
        finally:
            await satellite.close()
            for process in processes:
                await process.terminate()
            await server.stop(grace=2.0)
            microphone.close()


def main() -> int:
    satellite_python = Path(sys.argv[1]).absolute()
    os.chdir("/")  # the mic service must import the installed package, not a source tree
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"pi-check-{os.getpid()}"
    logs.mkdir(parents=True)
    started = time.monotonic()
    try:
        text = asyncio.run(check(satellite_python, logs))
    finally:
        for path in sorted(logs.iterdir()):
            tail = path.read_text().splitlines()[-8:]
            print(f"--- {path.name} (last lines)", *tail, sep="\n")
    ok = text.strip().lower().rstrip(".") == COMMAND
    print(
        f"pi-check: transcript {text!r} ({time.monotonic() - started:.1f} s): "
        + ("ok" if ok else "WRONG")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
