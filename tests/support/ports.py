"""Loopback ports for a server that a test starts later (often in another process), or for
an endpoint nothing listens on.

A port from ``bind(("127.0.0.1", 0))`` lies in the kernel's ephemeral range: between closing
that probe and the server's own bind, an outgoing connection or another port-0 listener on
the machine may take it ("address already in use", seen in CI). The kernel never hands out
ports below that range, so a free one picked there at random stays free, unless another test
picks the same number at the same moment.
"""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
_LOWEST = 10_000  # below: well-known services a developer's machine may run


def _first_ephemeral_port() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def free_port(host: str = HOST) -> int:
    """A port of ``host`` that nothing listens on and the kernel will not hand out."""
    first_ephemeral = _first_ephemeral_port()
    for _ in range(200):
        port = random.randrange(_LOWEST, first_ephemeral) if first_ephemeral > _LOWEST else 0
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue  # in use (or in TIME_WAIT): try another
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port on {host} below {first_ephemeral}")


async def wait_connectable(port: int, timeout: float, host: str = HOST) -> None:
    """Wait until something accepts connections on ``port`` (a server another process starts)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                _reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return
