"""``wyoming-qwen-asr health``: the real command against real sockets (exit 0 healthy, 1 not)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.server_helpers import HOST, StartServer, settings_for
from wyoming_server.addresses import ListenAddress, parse_uri
from wyoming_server.audio_budget import utc_today, write_usage
from wyoming_server.cli.parser import parse_args
from wyoming_server.emulator import QwenEmulator
from wyoming_server.health import describe_target
from wyoming_server.server import QwenAsrServer

ROOT = Path(__file__).resolve().parents[2]


async def run_health(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    """Run the installed command's health check as its own process: (status, out, err, seconds)."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "health",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode(), time.monotonic() - started


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[int]:
    """A TCP server on a free loopback port that is not a Wyoming server."""
    server = await asyncio.start_server(handler, HOST, 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 2)


async def test_healthy_server_exits_0_and_names_the_program(start_server: StartServer) -> None:
    port = await start_server()
    status, out, err, _ = await run_health("--uri", f"tcp://{HOST}:{port}")
    assert (status, err) == (0, "")
    assert "asr qwen-asr" in out


async def test_wildcard_listen_address_is_checked_on_loopback(start_server: StartServer) -> None:
    port = await start_server()
    # The server's own URI as a container sets it: 0.0.0.0 is not a destination.
    status, out, _, _ = await run_health(env={"QWEN_ASR_URI": f"tcp://0.0.0.0:{port}"})
    assert status == 0, out


async def test_default_uri_follows_the_servers_environment(start_server: StartServer) -> None:
    port = await start_server()
    assert (await run_health(env={"QWEN_ASR_URI": f"tcp://{HOST}:{port}"}))[0] == 0
    # An explicit --uri wins over the environment.
    status, _, err, _ = await run_health(
        "--uri", f"tcp://{HOST}:{free_port()}", env={"QWEN_ASR_URI": f"tcp://{HOST}:{port}"}
    )
    assert status == 1, err


async def test_unix_socket_server(emulator: QwenEmulator, tmp_path: Path) -> None:
    path = tmp_path / "stt.sock"
    server = QwenAsrServer(settings_for(emulator))
    await server.start(ListenAddress("unix", path=str(path)))
    try:
        status, out, _, _ = await run_health("--uri", f"unix://{path}")
    finally:
        await server.stop(grace=1)
    assert status == 0 and "qwen-asr" in out


async def test_nothing_listening_exits_1() -> None:
    port = free_port()
    status, out, err, _ = await run_health("--uri", f"tcp://{HOST}:{port}")
    assert (status, out) == (1, "")
    assert f"cannot check tcp://{HOST}:{port}" in err


async def test_server_that_never_answers_exits_1_within_the_timeout() -> None:
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # reads Describe, answers nothing, until the client goes
        writer.close()

    async with raw_server(silent) as port:
        status, _, err, seconds = await run_health(
            "--uri", f"tcp://{HOST}:{port}", "--timeout", "1"
        )
    assert connected.is_set()
    assert status == 1
    assert "did not answer Describe within 1 s" in err
    # 1 s of waiting plus the interpreter's start-up; far below a hang.
    assert seconds < 10


async def test_server_that_closes_without_info_exits_1() -> None:
    async def rude(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    async with raw_server(rude) as port:
        status, _, err, _ = await run_health("--uri", f"tcp://{HOST}:{port}")
    assert status == 1
    assert "closed the connection without answering Info" in err


async def test_something_else_on_the_port_exits_1() -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with raw_server(http) as port:
        status, _, err, _ = await run_health("--uri", f"tcp://{HOST}:{port}", "--timeout", "3")
    assert status == 1
    assert "is not a Wyoming server" in err


@pytest.mark.parametrize(
    ("uri", "message"),
    [("http://localhost:10300", "URI must start with"), ("stdio://", "stdio:// server")],
)
async def test_unusable_uri_exits_1(uri: str, message: str) -> None:
    status, _, err, _ = await run_health("--uri", uri)
    assert status == 1
    assert message in err


def test_health_needs_no_api_key() -> None:
    """The health check runs where the key is not readable (a secret only the server reads)."""
    args = parse_args(["health", "--uri", "tcp://127.0.0.1:1"])
    assert args.command == "health" and not hasattr(args, "api_key")


@pytest.mark.parametrize(
    ("uri", "target"),
    [
        ("tcp://0.0.0.0:10300", "tcp://127.0.0.1:10300"),
        ("tcp://[::]:10300", "tcp://[::1]:10300"),
        ("tcp://192.0.2.7:10300", "tcp://192.0.2.7:10300"),
        ("unix:///run/stt.sock", "unix:///run/stt.sock"),
    ],
)
def test_checked_address(uri: str, target: str) -> None:
    assert describe_target(parse_uri(uri)) == target


async def test_health_prints_todays_audio_usage(start_server: StartServer, tmp_path: Path) -> None:
    port = await start_server()
    state = tmp_path / "audio-usage.json"
    status, out, _, _ = await run_health(
        "--uri", f"tcp://{HOST}:{port}", "--state-file", str(state)
    )
    assert status == 0 and "audio sent" not in out  # nothing counted
    write_usage(state, utc_today(), 90.0)
    env = {"QWEN_ASR_STATE_FILE": str(state)}
    status, out, _, _ = await run_health("--uri", f"tcp://{HOST}:{port}", env=env)
    assert status == 0
    assert "audio sent to Qwen today (UTC): 1.5 minutes" in out
