"""A service that accepts and never answers: the Wyoming client gets ``Error`` in time.

tests/wyoming_server/test_failures.py covers a stall at ``session.finish`` (error code only);
these add the connect and session.update stalls, and bound how long each one takes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from qwen_asr_realtime import Timeouts

from tests.support.server_helpers import HOST, transcribe, wait_sessions_closed
from wyoming_server.emulator import QwenEmulator

TIMEOUT = 1.0
STALL_TIMEOUTS = Timeouts(connect=TIMEOUT, setup=TIMEOUT, finish=TIMEOUT, close=0.5)
# Generous: a bound on a hang, not a timing measurement (other suites share the CPU).
MARGIN = 4.0

StartServer = Callable[..., Awaitable[int]]


class SilentListener:
    """Accepts TCP connections and never says a word: the WebSocket handshake never ends."""

    def __init__(self) -> None:
        self.accepted = 0
        self.closed_by_peer = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://{HOST}:{port}/api-ws/v1/realtime"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        while await reader.read(4096):  # swallow the upgrade request, answer nothing
            pass
        self.closed_by_peer += 1

    async def stop(self) -> None:
        assert self._server is not None
        for writer in self._writers:
            writer.close()
        self._server.close()


@pytest.fixture
async def silent_endpoint() -> AsyncIterator[SilentListener]:
    listener = SilentListener()
    yield listener
    await listener.stop()


async def test_connect_stall_gives_error_within_the_timeout(
    start_server: StartServer,
    silent_endpoint: SilentListener,
    speech_pcm: Callable[..., bytes],
) -> None:
    url = await silent_endpoint.start()
    port = await start_server(endpoint=url, timeouts=STALL_TIMEOUTS)
    started = time.monotonic()
    reply = await transcribe(port, speech_pcm("what_time_is_it"), timeout=TIMEOUT + MARGIN)
    elapsed = time.monotonic() - started
    assert reply.error is not None and reply.error.code == "timeout", reply.types
    assert reply.closed
    assert elapsed < TIMEOUT + MARGIN
    assert silent_endpoint.accepted == 1
    # The abandoned TCP connection is released, not left open.
    async with asyncio.timeout(5):
        while silent_endpoint.closed_by_peer < 1:
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "stall",
    ["session.created", "session.update", "session.finish"],
    ids=["never-created", "stall-on-update", "stall-on-finish"],
)
async def test_service_stall_gives_error_within_the_timeout(
    start_server: StartServer,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    stall: str,
) -> None:
    if stall == "session.created":
        emulator.faults.stall = True  # accepts the upgrade, then never sends anything
    else:
        emulator.faults.stall_on = stall  # type: ignore[assignment]
    port = await start_server(timeouts=STALL_TIMEOUTS)
    started = time.monotonic()
    reply = await transcribe(port, speech_pcm("what_time_is_it"), timeout=TIMEOUT + MARGIN)
    elapsed = time.monotonic() - started
    assert reply.error is not None and reply.error.code == "timeout", reply.types
    assert reply.text is None and reply.closed
    assert elapsed < TIMEOUT + MARGIN
    await wait_sessions_closed(emulator)
    assert len(emulator.sessions) == 1


async def test_stall_only_costs_the_stalled_request(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """While one request waits on a stalled session, the next one is served normally."""
    port = await start_server(timeouts=STALL_TIMEOUTS)
    pcm = speech_pcm("what_time_is_it")
    emulator.faults.stall = True
    stalled = asyncio.create_task(transcribe(port, pcm, timeout=TIMEOUT + MARGIN))
    async with asyncio.timeout(5):  # the stalled session is open before the fault is cleared
        while not emulator.sessions:
            await asyncio.sleep(0.01)
    emulator.faults.stall = False
    healthy = await transcribe(port, pcm, timeout=TIMEOUT + MARGIN)
    assert healthy.text is not None and healthy.error is None
    reply = await stalled
    assert reply.error is not None and reply.error.code == "timeout"
    await wait_sessions_closed(emulator)
