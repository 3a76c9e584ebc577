"""Helpers for the fallback tests: a second server in front of its own emulator."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from qwen_asr_realtime import CircuitBreaker
from wyoming.asr import Transcribe
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient

from tests.support.server_helpers import HOST, Reply, read_reply, send_audio, settings_for
from wyoming_server.addresses import ListenAddress
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.fallback import FallbackEngine
from wyoming_server.server import QwenAsrServer

PRIMARY_TEXT = "the primary qwen answered"


@dataclass
class Timed:
    reply: Reply
    stop_to_answer_ms: float


async def timed_request(port: int, pcm: bytes, *, pace: float = 0.0, language: str = "en") -> Timed:
    """One HA-style request; ``pace`` seconds between 100 ms chunks."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    stopped = time.perf_counter()
    try:
        with contextlib.suppress(ConnectionError):
            await client.write_event(Transcribe(language=language).event())
            await client.write_event(AudioStart(16000, 2, 1).event())
            await send_audio(client, pcm, pace=pace)
            stopped = time.perf_counter()
            await client.write_event(AudioStop().event())
        try:
            reply = await read_reply(client, timeout=20)
        except ConnectionError:
            reply = Reply(closed=True)
        return Timed(reply, (time.perf_counter() - stopped) * 1000)
    finally:
        with contextlib.suppress(ConnectionError):
            await client.disconnect()


@dataclass
class SilentFallback:
    """A fallback that reads everything and never answers."""

    engine: FallbackEngine
    connections: int = 0


@contextlib.asynccontextmanager
async def silent_fallback() -> AsyncIterator[SilentFallback]:
    silent: SilentFallback

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.connections += 1
        with contextlib.suppress(ConnectionError):
            while await reader.read(1 << 16):
                pass
        writer.close()

    server = await asyncio.start_server(never_answer, HOST, 0)
    silent = SilentFallback(
        FallbackEngine(HOST, server.sockets[0].getsockname()[1], answer_timeout=1.0)
    )
    try:
        yield silent
    finally:
        server.close()


@dataclass
class Fallback:
    emulator: QwenEmulator
    port: int

    def engine(self, **changes: object) -> FallbackEngine:
        options: dict[str, object] = {
            "connect_timeout": 1.0,
            "answer_timeout": 5.0,
            "breaker": CircuitBreaker(0.0),
        }
        options.update(changes)
        return FallbackEngine(HOST, self.port, **options)  # type: ignore[arg-type]

    async def direct(self, pcm: bytes) -> str:
        """The fallback's own transcript of the whole recording."""
        reply = (await timed_request(self.port, pcm)).reply
        assert reply.text is not None, reply.types
        return reply.text


@pytest.fixture
async def fallback() -> AsyncIterator[Fallback]:
    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer()
    ) as emulator:
        server = QwenAsrServer(settings_for(emulator, vad=None))
        await server.start(ListenAddress("tcp", host=HOST, port=0))
        try:
            yield Fallback(emulator, server.bound_port)
        finally:
            await server.stop(grace=2.0)


@pytest.fixture
def primary(emulator: QwenEmulator) -> QwenEmulator:
    emulator.recognizer_factory = ScriptedRecognizer([PRIMARY_TEXT] * 20)
    return emulator
