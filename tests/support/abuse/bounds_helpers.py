"""The real server process under a flood, and its memory read from ``/proc``.

Started against the emulator, attacked over loopback sockets. Shared by the abuse tests
(which assert the bounds) and ``tests/benchmarks/abuse_bench.py`` (which prints the
numbers). Only the standard library, wyoming and the project's test helpers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event

from tests.support.ports import free_port, wait_connectable

HOST = "127.0.0.1"
KEY = "test-key"
MIB = 1 << 20
ASOUNDRC = Path(__file__).resolve().parents[2] / "wyoming_server" / "mic" / "asoundrc"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}


async def _connectable(port: int) -> None:
    await wait_connectable(port, 20)


def memory_bytes(pid: int, field_name: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field_name)


@dataclass
class ServerProcess:
    """``wyoming-qwen-asr`` running as its own process (``python -m wyoming_server``)."""

    proc: asyncio.subprocess.Process
    port: int
    mic_port: int | None = None

    @property
    def rss(self) -> int:
        """Return the resident memory now."""
        return memory_bytes(self.proc.pid, "VmRSS")

    @property
    def peak(self) -> int:
        """Return the peak resident memory so far."""
        return memory_bytes(self.proc.pid, "VmHWM")

    async def stop(self) -> None:
        """Terminate the process (kill it if it does not end in 10 s)."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def start_server(
    emulator_url: str,
    key_file: Path,
    *extra: str,
    mic_device: str | None = None,
    log: Path | None = None,
) -> ServerProcess:
    """Start the server on a free loopback port in front of the emulator.

    With ``mic_device``, its mic service listens on another.
    """
    port = free_port()
    args = [
        "--uri",
        f"tcp://{HOST}:{port}",
        "--region",
        emulator_url,
        "--api-key-file",
        str(key_file),
        "--vad-silence-ms",
        "200",
        *extra,
    ]
    env = dict(CLEAN_ENV)
    mic_port = None
    if mic_device is not None:
        mic_port = free_port()
        args += ["--mic-uri", f"tcp://{HOST}:{mic_port}", "--mic-device", mic_device]
        env["ALSA_CONFIG_PATH"] = f"/usr/share/alsa/alsa.conf:{ASOUNDRC}"
    stderr = log.open("ab") if log is not None else asyncio.subprocess.DEVNULL
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wyoming_server", *args, stderr=stderr, env=env
        )
    finally:
        if log is not None:
            stderr.close()  # type: ignore[union-attr]
    server = ServerProcess(proc, port, mic_port)
    try:
        await _connectable(port)
        if mic_port is not None:
            await _connectable(mic_port)
    except BaseException:
        await server.stop()
        raise
    return server


# The abuse suite's ``server_process`` fixture: ``await server_process(*flags, mic_device=)``.
StartProcess = Callable[..., Awaitable[ServerProcess]]


def write_key_file(directory: Path) -> Path:
    """Write the emulator's key to a file only its owner reads."""
    path = directory / "key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    return path


class EmptyCapture:
    """A FIFO as the mic service's ALSA device (the ``testfile`` plugin).

    It opens and captures, but nothing is ever written, so no audio flows.
    """

    def __init__(self, directory: Path) -> None:
        """Make the FIFO in ``directory``."""
        self.path = directory / "mic.fifo"
        os.mkfifo(self.path)
        # Open read-write: the capture's open does not block, and it never sees an end.
        self._fd = os.open(self.path, os.O_RDWR)
        self.device = f"testfile:{self.path}"

    def close(self) -> None:
        """Close the FIFO's writing end."""
        os.close(self._fd)


def chunk_bytes(payload: bytes, rate: int, width: int, channels: int) -> bytes:
    """One AudioChunk event on the wire, encoded once so that a flood costs no JSON."""
    header = {
        "type": "audio-chunk",
        "data": {"rate": rate, "width": width, "channels": channels},
        "payload_length": len(payload),
    }
    return json.dumps(header).encode() + b"\n" + payload


@dataclass
class Flood:
    """One client writing as fast as TCP lets it, and what the server answered meanwhile."""

    sent_bytes: int = 0
    events: list[Event] = field(default_factory=list)
    closed_by_server: bool = False

    @property
    def error(self) -> Error | None:
        """Return the Error the server answered, if any."""
        return next((Error.from_event(e) for e in self.events if Error.is_type(e.type)), None)

    @property
    def types(self) -> list[str]:
        """Return the types of the events the server answered."""
        return [event.type for event in self.events]


async def flood(
    port: int,
    seconds: float,
    payload: bytes,
    *,
    rate: int = 16000,
    width: int = 2,
    channels: int = 1,
    opening: list[Event] | None = None,
    preamble: bytes = b"",
    raw: bytes | None = None,
    until: Callable[[Flood], bool] | None = None,
) -> Flood:
    """Flood ``port`` for ``seconds``, reading what the server answers meanwhile.

    Send ``opening`` (Transcribe, AudioStart of the format) and ``preamble``, then the chunk
    (or ``raw`` bytes) again and again; end early when the server closes or
    ``until(result)`` holds.
    """
    result = Flood()
    reader, writer = await asyncio.open_connection(HOST, port)
    done = asyncio.Event()
    leaving = False  # from here on, the end of the answers is our own close

    async def read_answers() -> None:
        with contextlib.suppress(ConnectionError, OSError, ValueError, EOFError):
            while (event := await async_read_event(reader)) is not None:
                result.events.append(event)
                if until is not None and until(result):
                    done.set()
        result.closed_by_server = result.closed_by_server or not leaving
        done.set()

    answers = asyncio.create_task(read_answers())
    piece = raw if raw is not None else chunk_bytes(payload, rate, width, channels)
    counted = len(piece) if raw is not None else len(payload)
    deadline = time.monotonic() + seconds
    try:
        if opening is None:
            opening = [Transcribe(language="en").event(), AudioStart(rate, width, channels).event()]
        for event in opening:
            await async_write_event(event, writer)
        writer.write(preamble)
        while not done.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            writer.write(piece)
            with contextlib.suppress(TimeoutError):
                # Blocked while the server does not read: TCP's backpressure at work.
                await asyncio.wait_for(writer.drain(), remaining)
            result.sent_bytes += counted
    except (ConnectionError, OSError):
        result.closed_by_server = True
    finally:
        leaving = True
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(answers, 5)
        answers.cancel()
    return result


@contextlib.asynccontextmanager
async def flooding(
    port: int, seconds: float, payload: bytes, **kwargs: object
) -> AsyncIterator[asyncio.Task[Flood]]:
    """Run a flood in the background during the block (and then to its end)."""
    task = asyncio.create_task(flood(port, seconds, payload, **kwargs))  # type: ignore[arg-type]
    try:
        yield task
    finally:
        await task


def loop_to(pcm: bytes, size: int) -> bytes:
    """``pcm`` repeated to ``size`` bytes (whole samples)."""
    size -= size % 2
    return (pcm * (size // len(pcm) + 1))[:size]


@dataclass(frozen=True)
class Answer:
    """What a neighbour's request got, and how long after its AudioStop."""

    text: str | None
    error: Error | None
    seconds: float  # from AudioStop to the Transcript (or Error)


async def neighbour(port: int, pcm: bytes, timeout: float = 15.0) -> Answer:
    """One ordinary request (Transcribe, 100 ms chunks at once, AudioStop) and its answer."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    try:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        for start in range(0, len(pcm), 3200):
            await client.write_event(AudioChunk(16000, 2, 1, pcm[start : start + 3200]).event())
        await client.write_event(AudioStop().event())
        stopped = time.monotonic()
        async with asyncio.timeout(timeout):
            while (event := await client.read_event()) is not None:
                if Transcript.is_type(event.type):
                    text = Transcript.from_event(event).text
                    return Answer(text, None, time.monotonic() - stopped)
                if Error.is_type(event.type):
                    return Answer(None, Error.from_event(event), time.monotonic() - stopped)
        return Answer(None, None, time.monotonic() - stopped)
    finally:
        with contextlib.suppress(ConnectionError):
            await client.disconnect()
