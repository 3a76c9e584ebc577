"""Fixtures for the robustness suites: an in-process Wyoming server before the emulator.

Reuses the Wyoming suite's helpers (``tests/wyoming/server_helpers.py``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

_WYOMING_TESTS = Path(__file__).resolve().parent.parent / "wyoming"
if str(_WYOMING_TESTS) not in sys.path:
    sys.path.insert(0, str(_WYOMING_TESTS))

from server_helpers import HOST, settings_for  # noqa: E402

from wyoming_server.emulator import QwenEmulator  # noqa: E402
from wyoming_server.server import ListenAddress, QwenAsrServer  # noqa: E402

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
