"""The real server process against the emulator, and Wyoming clients from chosen addresses.

Linux routes all of 127.0.0.0/8 to loopback: a client bound to 127.0.0.2 is a second
address (a "neighbour") for the server's per-address limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event

from tests.support.ports import free_port
from wyoming_server.emulator import QwenEmulator

HOST = "127.0.0.1"
NEIGHBOUR = "127.0.0.2"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}
CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono


@dataclass
class ServerProcess:
    """``wyoming-qwen-asr serve`` on a loopback port; its log goes to ``log``."""

    port: int
    proc: asyncio.subprocess.Process
    log: Path

    def log_text(self) -> str:
        """Return the server's log so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def server_process(
    emulator: QwenEmulator,
    tmp_path: Path,
    *flags: str,
    open_files: int | None = None,
    endpoint: str | None = None,
) -> AsyncIterator[ServerProcess]:
    """Start the server (``open_files``: its RLIMIT_NOFILE, as ``ulimit -n``); stop it after."""
    key = tmp_path / "key"
    key.write_text("test-key\n")
    key.chmod(0o600)
    port = free_port()
    log = tmp_path / f"server-{port}.log"

    def limit_files() -> None:  # runs in the child, before exec
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    with log.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wyoming_server",
            "serve",
            "--uri",
            f"tcp://{HOST}:{port}",
            "--region",
            endpoint or emulator.url,
            "--api-key-file",
            str(key),
            "--vad-silence-ms",
            "200",
            *flags,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log_file,
            env=CLEAN_ENV,
            preexec_fn=limit_files,
        )
    server = ServerProcess(port, proc, log)
    try:
        async with asyncio.timeout(30):
            while "Ready: listening" not in server.log_text():
                assert proc.returncode is None, server.log_text()
                await asyncio.sleep(0.05)
        yield server
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def allow_many_open_files(count: int) -> None:
    """Let this test process open ``count`` sockets (its soft limit may be 1024 or less)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@dataclass
class Connection:
    """One Wyoming client connection from ``source``."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    events: list[Event] = field(default_factory=list)

    async def send(self, *events: Event) -> None:
        """Write ``events`` in order."""
        for event in events:
            await async_write_event(event, self.writer)

    async def read_until_end(self) -> list[Event]:
        """Read every event until the server closes (a reset counts as a close)."""
        with contextlib.suppress(ConnectionError):
            while (event := await async_read_event(self.reader)) is not None:
                self.events.append(event)
        return self.events

    async def read_answer(self) -> Event | None:
        """Return the Transcript or Error ending the request (None: closed first)."""
        with contextlib.suppress(ConnectionError):
            while (event := await async_read_event(self.reader)) is not None:
                self.events.append(event)
                if Transcript.is_type(event.type) or Error.is_type(event.type):
                    return event
        return None

    def close(self) -> None:
        """Close the connection from this side."""
        self.writer.close()


async def connect(port: int, source: str = HOST) -> Connection:
    """Connect to the server from the loopback address ``source``."""
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
    return Connection(reader, writer)


async def begin_request(port: int, source: str = HOST, audio: bytes = b"\0\0") -> Connection:
    """Begin a request and its audio (the server opens its Qwen session at the first)."""
    client = await connect(port, source)
    await client.send(
        Transcribe(language="en").event(),
        AudioStart(16000, 2, 1).event(),
        AudioChunk(16000, 2, 1, audio).event(),
    )
    return client


async def transcribe(port: int, pcm: bytes, source: str = HOST) -> tuple[str | None, float]:
    """Send one whole request from ``source``; its transcript (or Error text), seconds."""
    started = time.monotonic()
    client = await connect(port, source)
    try:
        await client.send(Transcribe(language="en").event(), AudioStart(16000, 2, 1).event())
        for start in range(0, len(pcm), CHUNK_BYTES):
            chunk = pcm[start : start + CHUNK_BYTES]
            await client.send(AudioChunk(16000, 2, 1, chunk).event())
        await client.send(AudioStop().event())
        answer = await client.read_answer()
    finally:
        client.close()
    seconds = time.monotonic() - started
    if answer is None:
        return None, seconds
    if Error.is_type(answer.type):
        error = Error.from_event(answer)
        return f"Error {error.code}: {error.text}", seconds
    return Transcript.from_event(answer).text, seconds


def error_code(event: Event | None) -> str | None:
    """Return the code of an ``Error`` event; None for any other event."""
    return Error.from_event(event).code if event is not None and Error.is_type(event.type) else None


@dataclass
class CountingProxy:
    """A TCP relay in front of the emulator that counts the connections made to it."""

    url: str
    connections: int = 0


@contextlib.asynccontextmanager
async def counting_proxy(emulator: QwenEmulator) -> AsyncIterator[CountingProxy]:
    """Every connection the server opens upstream, counted, even one it drops at once."""
    target = urlsplit(emulator.url)
    proxy = CountingProxy("")
    relays: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proxy.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        except OSError:
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        relays.add(task)
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            relays.discard(task)

    server = await asyncio.start_server(relay, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    proxy.url = urlunsplit(target._replace(netloc=f"{HOST}:{port}"))
    try:
        yield proxy
    finally:
        server.close()
        for task in list(relays):
            task.cancel()
