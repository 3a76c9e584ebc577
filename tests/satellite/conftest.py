"""wyoming-satellite from the package index (its own venv), the mic service on a live
microphone, the STT server in front of the emulator: the Pi's satellite path."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.satellite.live_mic import LiveMicrophone
from tests.support.satellite.processes import REPO, Process, start_mic_service, start_satellite
from wyoming_server.addresses import ListenAddress
from wyoming_server.emulator import QwenEmulator
from wyoming_server.server import QwenAsrServer
from wyoming_server.settings import Endpointing, ServerSettings

pytest.importorskip("alsaaudio", reason="the mic service needs pyalsaaudio (the mic extra)")
pytest.importorskip("pocketsphinx", reason="real transcripts need pocketsphinx (the demo extra)")

# .ci/run sets it: there a missing satellite venv is an error, not a skip.
SATELLITE_PYTHON = Path(
    os.environ.get("QWEN_SATELLITE_PYTHON", REPO / ".venv-satellite" / "bin" / "python")
)


@pytest.fixture
def satellite_python() -> Path:
    if not SATELLITE_PYTHON.exists():
        if "QWEN_SATELLITE_PYTHON" in os.environ:
            pytest.fail(f"QWEN_SATELLITE_PYTHON={SATELLITE_PYTHON} does not exist")
        pytest.skip(
            "no .venv-satellite: python3 -m venv .venv-satellite && "
            ".venv-satellite/bin/pip install -r .ci/satellite-requirements.txt"
        )
    return SATELLITE_PYTHON


@pytest.fixture
def microphone() -> Iterator[LiveMicrophone]:
    mic = LiveMicrophone()
    yield mic
    mic.close()


@dataclass
class Pi:
    mic_port: int
    satellite_port: int
    stt_port: int
    mic: Process
    satellite: Process
    logs: Path

    def restart_mic(self, device: str) -> Process:
        self.mic = start_mic_service(device, self.mic_port, self.logs / "mic-2.log")
        return self.mic


@pytest.fixture
async def pi(
    microphone: LiveMicrophone, satellite_python: Path, tmp_path: Path
) -> AsyncIterator[Pi]:
    from wyoming_server.emulator.sphinx_recognizer import PocketSphinxRecognizer  # noqa: PLC0415

    mic_port, satellite_port = free_port(), free_port()
    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=PocketSphinxRecognizer()
    ) as emulator:
        # Qwen's VAD ends the command (--endpointing qwen), as HA 2026.10+ lets it.
        settings = ServerSettings(
            api_key="test-key",
            endpoint=emulator.url,
            language="en",
            endpointing=Endpointing.QWEN,
        )
        server = QwenAsrServer(settings)
        await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
        mic = start_mic_service(microphone.device, mic_port, tmp_path / "mic-1.log")
        try:
            await mic.wait_for_log("Mic service ready")  # as systemd orders the units
        except BaseException:
            await mic.terminate()
            raise
        satellite = start_satellite(
            satellite_python, satellite_port, mic_port, tmp_path / "satellite.log"
        )
        pi = Pi(mic_port, satellite_port, server.bound_port, mic, satellite, tmp_path)
        try:
            yield pi
        finally:
            codes = [await pi.satellite.terminate(), await pi.mic.terminate()]
            await server.stop(grace=2.0)
            print(pi.satellite.log()[-3000:])  # shown when a test fails
        assert codes[1] == 0, pi.mic.log()
