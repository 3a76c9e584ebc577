"""The Pi's two processes besides the STT server: the mic service and wyoming-satellite."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from .live_mic import ALSA_ENV

REPO = Path(__file__).resolve().parents[3]
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}


class Process:
    """A child process logging to a file; ``wait_for_log`` polls that file."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env={**CLEAN_ENV, **(env or {})}
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while self.log().count(text) < count:
                assert self.proc.poll() is None, f"{self.proc.args[:3]} exited:\n{self.log()}"
                await asyncio.sleep(0.05)

    async def terminate(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                while self.proc.poll() is None:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            self.proc.kill()
            self.proc.wait(5)
            raise
        return self.proc.returncode


def start_mic_service(device: str, port: int, log: Path) -> Process:
    argv = [sys.executable, "-m", "wyoming_server", "mic", "--mic-device", device]
    return Process([*argv, "--mic-uri", f"tcp://127.0.0.1:{port}"], log, ALSA_ENV)


def start_satellite(python: Path, port: int, mic_port: int, log: Path) -> Process:
    """As the README's unit runs it, without zeroconf (tests stay on loopback)."""
    argv = [str(python), "-m", "wyoming_satellite", "--name", "Kitchen satellite", "--debug"]
    argv += ["--uri", f"tcp://127.0.0.1:{port}", "--mic-uri", f"tcp://127.0.0.1:{mic_port}"]
    return Process([*argv, "--no-zeroconf"], log)
