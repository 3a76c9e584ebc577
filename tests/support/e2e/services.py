"""The services behind Home Assistant, as processes the suite starts and stops by PID: the
Qwen emulator (``python -m wyoming_server.emulator``) and ``wyoming-qwen-asr serve``."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from tests.support.ports import free_port

from .hass_env import PROJECT

START_TIMEOUT_S = 30.0
# The server venv made by .ci/run (Python 3.11): the suite runs in it, so its scripts are ours.
SERVER_BIN = Path(sys.executable).parent


class ServiceError(RuntimeError):
    pass


class ServiceProcess:
    """A child process with its output in a log file; stop() sends SIGTERM to its PID."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = {**os.environ, **(env or {})}
        fd, log = tempfile.mkstemp(prefix=f"qwen-e2e-{name}-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _spawn(self, stdout: int | IO[bytes]) -> subprocess.Popen[bytes]:
        if self.running:
            raise ServiceError(f"{self.name} already running")
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.argv,
                stdout=stdout if stdout != subprocess.STDOUT else log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=PROJECT,
            )
        return self._process

    def stop(self, timeout: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is not None:
            terminate(process, timeout)
            if process.stdout is not None:
                process.stdout.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _fail(self, why: str) -> ServiceError:
        self.stop()
        return ServiceError(f"{self.name} {why}:\n{self.log_text()[-3000:]}")

    def close(self) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EmulatorProcess(ServiceProcess):
    """The Qwen emulator with a scripted recognizer; restartable on the same port, e.g. with
    other accepted keys (a revoked key) or after being killed (a dropped service)."""

    def __init__(
        self,
        *,
        api_keys: Sequence[str],
        transcripts: Sequence[str] = (),
        faults: Sequence[str] = (),
    ) -> None:
        super().__init__("emulator", [])
        self.api_keys = list(api_keys)
        self.models: list[str] = []  # accepted models; empty: every known model
        self.transcripts = list(transcripts)
        self.faults = list(faults)  # emulator options such as "--drop-after-audio-ms", "1000"
        self.port = 0
        self.url = ""

    def start(self) -> str:
        """Start (on the previous port after the first start) and return its URL."""
        self.argv = [
            sys.executable,
            "-m",
            "wyoming_server.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--recognizer",
            "scripted",
            *(arg for key in self.api_keys for arg in ("--api-key", key)),
            *(arg for text in self.transcripts for arg in ("--transcript", text)),
            *self.faults,
            *(arg for model in self.models for arg in ("--model", model)),
        ]
        process = self._spawn(subprocess.PIPE)
        assert process.stdout is not None
        line = _read_line(process.stdout, START_TIMEOUT_S)
        if not line.startswith("ws://"):
            raise self._fail(f"printed no URL ({line!r})")
        self.url = line.strip()
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])
        return self.url

    def restart(
        self,
        *,
        api_keys: Sequence[str] | None = None,
        faults: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
    ) -> str:
        self.stop()
        if api_keys is not None:
            self.api_keys = list(api_keys)
        if faults is not None:
            self.faults = list(faults)
        if models is not None:
            self.models = list(models)
        return self.start()


class WyomingServerProcess(ServiceProcess):
    """``wyoming-qwen-asr serve`` on a free loopback port, in front of an emulator; restartable
    on the same port (e.g. with the other endpointing mode)."""

    def __init__(
        self,
        *,
        qwen_url: str,
        api_key: str,
        endpointing: str = "home_assistant",
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__("wyoming-server", [])
        self.port = free_port()
        self.qwen_url = qwen_url
        self.endpointing = endpointing
        self.extra_args = list(extra_args)  # e.g. "--fallback-uri", "tcp://127.0.0.1:PORT"
        fd, key_file = tempfile.mkstemp(prefix="qwen-e2e-key-")
        os.close(fd)
        self._key_file = Path(key_file)
        self._key_file.write_text(api_key)
        self._key_file.chmod(0o600)

    def start(self) -> None:
        self.argv = [
            str(SERVER_BIN / "wyoming-qwen-asr"),
            "serve",
            "--uri",
            f"tcp://127.0.0.1:{self.port}",
            "--region",
            self.qwen_url,
            "--api-key-file",
            str(self._key_file),
            "--endpointing",
            self.endpointing,
            "--debug",
            *self.extra_args,
        ]
        self._spawn(subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.running:
                raise self._fail("exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            return
        raise self._fail(f"did not listen within {START_TIMEOUT_S} s")

    def restart(self, *, endpointing: str | None = None) -> None:
        self.stop()
        self.endpointing = endpointing or self.endpointing
        self.start()

    def close(self) -> None:
        super().close()
        self._key_file.unlink(missing_ok=True)


def terminate(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM by PID, SIGKILL if it has not exited within ``timeout``; its exit code."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
    return process.wait(10)


def _read_line(stream: IO[bytes], timeout: float) -> str:
    """One line of a child's stdout, waiting at most ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + timeout
    try:
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
    finally:
        selector.close()
    return buffer.split(b"\n", 1)[0].decode(errors="replace")
