"""Fixtures for the abuse suite: the real server process in front of the emulator.

Each attack runs against ``wyoming-qwen-asr`` started as its own process
(``python -m wyoming_server``), so that its memory can be read from ``/proc`` and nothing of
the test's own process is measured. The emulator runs in the test's event loop and records
what reached it. Helpers other topics may reuse are in ``bounds_helpers.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.abuse.bounds_helpers import (
    ServerProcess,
    StartProcess,
    free_port,
    start_server,
    write_key_file,
)
from wyoming_server.emulator import QwenEmulator


@pytest.fixture
async def server_process(emulator: QwenEmulator, tmp_path: Path) -> AsyncIterator[StartProcess]:
    """Start the server as its own process, with the flags given.

    On a free loopback port; its log is ``tmp_path / "server.log"``; stopped at the end.
    """
    key_file = write_key_file(tmp_path)
    started: list[ServerProcess] = []

    async def _start(*flags: str, mic_device: str | None = None) -> ServerProcess:
        server = await start_server(
            emulator.url, key_file, *flags, mic_device=mic_device, log=tmp_path / "server.log"
        )
        started.append(server)
        return server

    yield _start
    for server in started:
        await server.stop()


@pytest.fixture
def free_tcp_port() -> int:
    """Return a loopback port nothing listens on (a fallback that is down, say)."""
    return free_port()
