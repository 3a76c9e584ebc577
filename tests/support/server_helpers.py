"""Helpers for the Wyoming server tests: settings, a Wyoming test client, assertions."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from qwen_asr_realtime import AudioOptions, Timeouts, VadConfig
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event

from wyoming_server.addresses import ListenAddress
from wyoming_server.emulator import QwenEmulator
from wyoming_server.server import QwenAsrServer
from wyoming_server.settings import ServerSettings

HOST = "127.0.0.1"
# Short silence so the emulator's VAD ends utterances quickly.
FAST_VAD = VadConfig(threshold=0.0, silence_duration_ms=200)
RESULT_TYPES = ("transcript-start", "transcript-chunk", "transcript", "transcript-stop", "error")


@dataclass
class Reply:
    """Everything a client received for one request, until the Transcript/Error or close."""

    events: list[Event] = field(default_factory=list)
    closed: bool = False

    @property
    def types(self) -> list[str]:
        return [e.type for e in self.events]

    @property
    def text(self) -> str | None:
        for event in self.events:
            if Transcript.is_type(event.type):
                return Transcript.from_event(event).text
        return None

    @property
    def transcript(self) -> Transcript:
        return next(Transcript.from_event(e) for e in self.events if Transcript.is_type(e.type))

    @property
    def error(self) -> Error | None:
        for event in self.events:
            if Error.is_type(event.type):
                return Error.from_event(event)
        return None

    @property
    def chunks(self) -> list[str]:
        return [
            TranscriptChunk.from_event(e).text
            for e in self.events
            if TranscriptChunk.is_type(e.type)
        ]


def settings_for(emulator: QwenEmulator, **changes: Any) -> ServerSettings:
    base = ServerSettings(
        api_key="test-key",
        endpoint=emulator.url,
        vad=FAST_VAD,
        timeouts=Timeouts(connect=3, setup=3, finish=5, close=1),
    )
    return dataclasses.replace(base, **changes)


async def read_reply(client: AsyncTcpClient, timeout: float = 10.0) -> Reply:
    """Read until TranscriptStop, Error or the connection's end."""
    reply = Reply()
    async with asyncio.timeout(timeout):
        while True:
            event = await client.read_event()
            if event is None:
                reply.closed = True
                return reply
            if event.type not in RESULT_TYPES:
                continue
            reply.events.append(event)
            if TranscriptStop.is_type(event.type):
                return reply
            if Error.is_type(event.type):
                # The server closes after an Error; confirm it.
                reply.closed = await client.read_event() is None
                return reply


async def send_audio(
    client: AsyncTcpClient,
    pcm: bytes,
    *,
    rate: int = 16000,
    width: int = 2,
    channels: int = 1,
    chunk_ms: int = 100,
    pace: float = 0.0,
) -> None:
    size = rate * chunk_ms // 1000 * width * channels
    for start in range(0, len(pcm), size):
        await client.write_event(
            AudioChunk(rate, width, channels, pcm[start : start + size]).event()
        )
        if pace:
            await asyncio.sleep(pace)


async def transcribe(
    port: int,
    pcm: bytes,
    *,
    language: str | None = "en",
    rate: int = 16000,
    width: int = 2,
    channels: int = 1,
    transcribe_event: Transcribe | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One request the way Home Assistant sends it."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    try:
        # A server that failed closes while audio is still coming: writes may then fail.
        with contextlib.suppress(ConnectionError):
            await client.write_event((transcribe_event or Transcribe(language=language)).event())
            await client.write_event(AudioStart(rate, width, channels).event())
            await send_audio(client, pcm, rate=rate, width=width, channels=channels)
            await client.write_event(AudioStop().event())
        try:
            return await read_reply(client, timeout)
        except ConnectionError:
            return Reply(closed=True)
    finally:
        with contextlib.suppress(ConnectionError):
            await client.disconnect()


async def open_request(port: int) -> AsyncTcpClient:
    """A request that has begun (Transcribe, AudioStart, a first AudioChunk: the server
    opens the Qwen session, and takes a --max-sessions slot, when audio begins) and waits
    for the rest of its audio."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    await client.write_event(Transcribe(language="en").event())
    await client.write_event(AudioStart(16000, 2, 1).event())
    await client.write_event(AudioChunk(16000, 2, 1, b"").event())
    return client


async def wait_until(check: Callable[[], object], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def wait_sessions_closed(emulator: QwenEmulator, timeout: float = 5.0) -> None:
    """Every Qwen session the server opened has been closed (no leaked sessions)."""
    async with asyncio.timeout(timeout):
        while any(record.closed_at is None for record in emulator.sessions):
            await asyncio.sleep(0.02)


def assert_result_order(reply: Reply) -> None:
    types = reply.types
    assert types[0] == "transcript-start"
    assert types[-2:] == ["transcript", "transcript-stop"]
    assert set(types[1:-2]) <= {"transcript-chunk"}


StartServer = Callable[..., Awaitable[int]]

# The client's live path (VAD mode) for audio a test sends all at once, as a whole file: for
# tests of that path itself; otherwise the client sends such a request as a recording.
LIVE_AUDIO = AudioOptions(recordings_manual=False)


@pytest.fixture
async def start_server(emulator: QwenEmulator) -> AsyncIterator[StartServer]:
    """``port = await start_server(**settings_changes)``: a server on a free loopback port."""
    servers: list[QwenAsrServer] = []

    async def _start(**changes: Any) -> int:
        server = QwenAsrServer(settings_for(emulator, **changes))
        await server.start(ListenAddress("tcp", host=HOST, port=0))
        servers.append(server)
        return server.bound_port

    yield _start
    for server in servers:
        await server.stop(grace=2.0)


@pytest.fixture
async def port(start_server: StartServer) -> int:
    return await start_server()
