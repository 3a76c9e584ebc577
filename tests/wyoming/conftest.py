"""Fixtures: an in-process Wyoming server in front of the Qwen emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from server_helpers import HOST, settings_for

from wyoming_server.emulator import QwenEmulator
from wyoming_server.server import ListenAddress, QwenAsrServer

StartServer = Callable[..., Awaitable[int]]


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
