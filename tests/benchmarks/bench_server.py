"""The Wyoming server under test (or the floor), as its own process, so its CPU time and memory
are its own."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from bench_load import HOST
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key"
# Longer than the fixtures' trailing silence: Home Assistant's AudioStop ends each request,
# so the final `completed` follows `session.finish` (the default endpointing).
VAD_SILENCE_MS = 1200
# Every benchmark client connects from 127.0.0.1: the per-client fairness limits are lifted.
LIFT_CLIENT_LIMITS = (
    "--max-sessions-per-client=1000",
    "--max-sessions-per-minute=1000000",
    "--max-connections=4000",
    "--max-connections-per-client=4000",
)
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Usage:
    cpu_s: float  # utime + stime
    rss_mb: float  # VmRSS now
    hwm_mb: float  # VmHWM: peak RSS since the process started


class ServerProcess:
    """``python -m wyoming_server`` on a free loopback port, in front of ``region``."""

    def __init__(
        self,
        region: str,
        *,
        extra_args: tuple[str, ...] = (),
        floor: bool = False,
        log: IO[bytes] | None = None,
        server_tree: Path | None = None,
    ):
        self.port = _free_port()
        uri = f"tcp://{HOST}:{self.port}"
        if floor:
            self._args = [sys.executable, str(Path(__file__).with_name("bench_floor.py"))]
            self._args += ["--uri", uri]
        else:
            self._args = [sys.executable, "-m", "wyoming_server", "--uri", uri]
            self._args += ["--region", region, "--vad-silence-ms", str(VAD_SILENCE_MS)]
            # 50 streams at once: above the household default of --max-sessions, and all
            # from one address: above the per-client fairness defaults too.
            self._args += ["--max-sessions", "1000", *LIFT_CLIENT_LIMITS]
            self._args += extra_args
        self._log = log
        self._tree = server_tree
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def __aenter__(self) -> Self:
        env = {**os.environ, "QWEN_API_KEY": API_KEY}  # the key stays off the command line
        if self._tree is not None:
            env["PYTHONPATH"] = os.pathsep.join(map(str, _import_paths(self._tree)))
        self._proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
            self._args,
            cwd=self._tree or REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log or subprocess.DEVNULL,
        )
        await self._wait_ready()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    async def _wait_ready(self, timeout: float = 20.0) -> None:
        """Ready once it answers Describe with Info."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {self._proc.returncode}")
            try:
                client = AsyncTcpClient(HOST, self.port)
                await client.connect()
                try:
                    await client.write_event(Describe().event())
                    event = await asyncio.wait_for(client.read_event(), 2)
                    if event is not None and Info.is_type(event.type):
                        return
                finally:
                    await client.disconnect()
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("the server did not start in time")

    def usage(self) -> Usage:
        assert self._proc is not None
        pid = self._proc.pid
        # /proc/PID/stat: the command may hold spaces, so split after its closing parenthesis.
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        utime, stime = int(stat[11]), int(stat[12])  # fields 14 and 15 of stat(5)
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )

        def mb(key: str) -> float:
            return int(status[key].split()[0]) / 1024  # reported in kB

        return Usage((utime + stime) / _CLK_TCK, mb("VmRSS"), mb("VmHWM"))


def _import_paths(tree: Path) -> tuple[Path, Path]:
    """Import paths that run another checkout's server (``qwen_asr_realtime`` mapped to its
    client folder, as pyproject's package-dir does), ahead of the installed package."""
    packages = Path(tempfile.gettempdir()) / f"bench-tree-{abs(hash(tree.resolve()))}"
    link = packages / "qwen_asr_realtime"
    if not link.exists():
        packages.mkdir(exist_ok=True)
        link.symlink_to(tree.resolve() / "custom_components" / "qwen_asr" / "realtime")
    return packages, tree.resolve()
