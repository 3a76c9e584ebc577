"""Issue 28.4: no malformed key puts the key into any channel that leaves the process.

Before, a key file with a second line (a comment), a pasted zero-width space or another
non-ASCII character made websockets refuse the ``Authorization`` header with an error that
quoted it, and that text reached every Wyoming client (``Error``), anyone sending
``Describe`` (the Info description, with a fallback set) and ``health`` (kept in Docker's
health records). Now such a key stops the real server at start; and the outbound boundary
(``redact``) is tested on its own with an HTTP-layer error forced into the real server
process: the key is in no ``Error``, ``Info``, ``health`` output or log line. (Home
Assistant's diagnostics and repairs: tests/qwen_asr/test_diagnostics.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info

from wyoming_server.emulator import QwenEmulator

HOST = "127.0.0.1"
# A well-formed key the tests hand to the server, and one it does not know (only the
# credential patterns can catch that one). Neither is one of conftest.TEST_API_KEYS.
KEY = "sk-test-SECRET-abuse-0123456789"
FOREIGN = "sk-test-FOREIGN-abuse-9876543210"
MARKERS = ("SECRET-abuse", "FOREIGN-abuse", "my DashScope key")
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}
# The three malformed keys of the issue, and how the server names each problem.
MALFORMED = {
    "second line": (f"{KEY}\n# my DashScope key\n", "it has 2 lines"),
    "zero-width space": ("sk-test-\u200bSECRET-abuse", "character 9 is a zero-width space"),
    "non-ASCII": ("sk-test-SECRET-\u0436abuse", "character 16 is a non-ASCII letter"),
}
# Runs the real server with its connection to Qwen failing as websockets failed for such a
# key: an HTTP-layer error quoting the Authorization header (its value from the environment),
# raised past the connection's own masking, so that only the outbound boundary stands.
_QUOTING_SERVER = """
import os, sys
from qwen_asr_realtime import QwenConnectionError, client
from websockets.exceptions import InvalidHeaderValue

async def quoting_header(*args, **kwargs):
    err = InvalidHeaderValue("Authorization", os.environ["KEY_CHANNELS_HEADER"])
    raise QwenConnectionError(f"Cannot connect to 127.0.0.1: {type(err).__name__}: {err}")

client.open_socket = quoting_header
from wyoming_server.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


class ServerProcess:
    """The server as a child process; its log is collected while it runs."""

    def __init__(self, *args: str, env: dict[str, str], code: str | None = None) -> None:
        self.port = _free_port()
        self._args = args
        self._env = env
        self._code = code
        self.log: list[str] = []
        self._ready = asyncio.Event()
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Start; return the exit code if it stops before serving, else wait until ready."""
        entry = ["-c", self._code] if self._code else ["-m", "wyoming_server"]
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *entry,
            "serve",
            "--uri",
            f"tcp://{HOST}:{self.port}",
            *self._args,
            stderr=asyncio.subprocess.PIPE,
            env={**CLEAN_ENV, **self._env},
        )
        self._reader = asyncio.create_task(self._read_log())
        waiter = asyncio.create_task(self._ready.wait())
        exited = asyncio.create_task(self.process.wait())
        await asyncio.wait({waiter, exited}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._ready.is_set():
            exited.cancel()
            return 0
        code = await asyncio.wait_for(exited, 30)
        await self._reader
        return code

    async def _read_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode("utf-8", "replace"))
            if "Ready: listening" in self.log[-1]:
                self._ready.set()

    async def stop(self) -> str:
        """Terminate; the whole log."""
        assert self.process is not None and self._reader is not None
        if self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)
        await asyncio.wait_for(self._reader, 30)
        return "".join(self.log)


async def _exchange(port: int, *events: Event) -> list[Event]:
    """Send ``events``; the answers up to an Error, a Transcript or an Info."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for event in events:
            await async_write_event(event, writer)
        answers = []
        async with asyncio.timeout(30):
            while (event := await async_read_event(reader)) is not None:
                answers.append(event)
                if event.type in ("error", "transcript", "info"):
                    break
        return answers
    finally:
        writer.close()


async def _health(port: int) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "health",
        "--uri",
        f"tcp://{HOST}:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=CLEAN_ENV,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return out.decode("utf-8", "replace")


# -- a malformed key never gets as far as a header ----------------------------------------


@pytest.mark.parametrize("kind", list(MALFORMED))
@pytest.mark.parametrize("source", ["QWEN_API_KEY", "--api-key", "--api-key-file", "_FILE env"])
async def test_a_malformed_key_stops_the_real_server_naming_the_problem_not_the_key(
    emulator: QwenEmulator, tmp_path: Path, source: str, kind: str
) -> None:
    key, problem = MALFORMED[kind]
    key_file = tmp_path / "key"
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    args: list[str] = ["--region", emulator.url]
    env: dict[str, str] = {}
    if source == "QWEN_API_KEY":
        env["QWEN_API_KEY"] = key
    elif source == "--api-key":
        args += ["--api-key", key]
    elif source == "--api-key-file":
        args += ["--api-key-file", str(key_file)]
    else:
        env["QWEN_API_KEY_FILE"] = str(key_file)
    server = ServerProcess(*args, env=env)
    assert await server.start() == 2
    log = await server.stop()
    named = "--api-key-file" if "FILE" in source.upper() else source
    assert f"error: {named}" in log and "is not one line of printable ASCII" in log
    assert problem in log
    assert _leaks(log) == [], log
    assert emulator.sessions == [] and emulator.rejected == []


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_a_malformed_key_stops_the_add_on_naming_the_problem_not_the_key(
    tmp_path: Path, kind: str
) -> None:
    key, problem = MALFORMED[kind]
    options = tmp_path / "options.json"
    options.write_text(json.dumps({"api_key": key, "region": "intl"}), encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "addon",
        "--options",
        str(options),
        "--port",
        str(_free_port()),
        stderr=asyncio.subprocess.PIPE,
        env={**CLEAN_ENV, "SUPERVISOR_TOKEN": ""},
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    log = err.decode()
    assert proc.returncode == 2
    assert "the API key (api_key) is not one line of printable ASCII" in log and problem in log
    assert _leaks(log) == [], log


async def test_a_key_on_the_command_line_is_warned_about_at_start(emulator: QwenEmulator) -> None:
    server = ServerProcess("--region", emulator.url, "--api-key", KEY, env={})
    assert await server.start() == 0
    log = await server.stop()
    assert "--api-key on the command line is visible to other users in ps" in log
    assert "use QWEN_API_KEY or --api-key-file" in log
    assert _leaks(log) == [], log


# -- the outbound boundary, whatever the HTTP layer says ----------------------------------


@pytest.fixture(
    params=[
        pytest.param(f"Bearer {KEY}", id="the-servers-key"),
        pytest.param(f"Bearer {FOREIGN}\n# my DashScope key", id="a-foreign-key-and-a-comment"),
        pytest.param("Bearer sk-test-\u200bSECRET-abuse", id="a-zero-width-space"),
        pytest.param("Bearer sk-test-SECRET-\u0436abuse", id="non-ASCII"),
    ]
)
async def quoting_server(request: pytest.FixtureRequest) -> AsyncIterator[ServerProcess]:
    """The real server whose every connection to Qwen fails with an error quoting the
    Authorization header ``request.param``; a fallback is set (and down), so the failure
    shows in the Info description too."""
    args = ["--region", f"ws://{HOST}:9/api-ws/v1/realtime"]
    args += ["--fallback-uri", f"tcp://{HOST}:{_free_port()}", "--debug"]
    env = {"QWEN_API_KEY": KEY, "KEY_CHANNELS_HEADER": request.param}
    server = ServerProcess(*args, env=env, code=_QUOTING_SERVER)
    assert await server.start() == 0, "".join(server.log)
    yield server
    with contextlib.suppress(ProcessLookupError):
        await server.stop()


async def test_an_error_quoting_the_header_reaches_no_client_info_health_or_log(
    quoting_server: ServerProcess,
) -> None:
    port = quoting_server.port
    audio = AudioChunk(rate=16000, width=2, channels=1, audio=bytes(3200))
    answers = await _exchange(
        port,
        Transcribe(language="en").event(),
        AudioStart(rate=16000, width=2, channels=1).event(),
        audio.event(),
        AudioStop().event(),
    )
    error = answers[-1]
    assert error.type == "error", answers
    error_text = str(error.data["text"])
    info = await _exchange(port, Describe().event())
    description = str(Info.from_event(info[-1]).asr[0].description)
    health = await _health(port)
    log = await quoting_server.stop()

    # Each channel carried the failure (so the test saw the path), masked.
    for channel in (error_text, description, health):
        assert "InvalidHeaderValue: invalid Authorization header: ***" in channel, channel
    assert "Transcription failed" in log and "invalid Authorization header: ***" in log
    for name, channel in [
        ("Error", error_text),
        ("Info", description),
        ("health", health),
        ("log", log),
    ]:
        assert _leaks(channel) == [], f"{name}: {channel}"
        assert "\u200b" not in channel and "\u0436" not in channel, name


async def test_health_masks_a_quoted_header_in_any_servers_info() -> None:
    """``health`` may check another (or an older) server: its output is masked itself."""
    quoted = f"invalid Authorization header: Bearer {FOREIGN}\n# my DashScope key"
    description = f"Qwen In use: fallback tcp://{HOST}:1 (Qwen failed: {quoted})"
    program = AsrProgram(
        name="qwen-asr",
        description=description,
        attribution=Attribution(name="test", url="https://example.com"),
        installed=True,
        version="1",
        models=[
            AsrModel(
                name="m",
                description="m",
                attribution=Attribution(name="test", url="https://example.com"),
                installed=True,
                languages=["en"],
                version="1",
            )
        ],
    )

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await async_read_event(reader)
        await async_write_event(Info(asr=[program]).event(), writer)
        writer.close()

    server = await asyncio.start_server(answer, HOST, 0)
    try:
        health = await _health(server.sockets[0].getsockname()[1])
    finally:
        server.close()
    assert health.startswith("healthy:") and "invalid Authorization header: ***" in health
    assert _leaks(health) == [], health
