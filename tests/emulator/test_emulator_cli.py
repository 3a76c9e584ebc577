"""``python -m wyoming_server.emulator`` serves until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from websockets.asyncio.client import connect


async def test_cli_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server.emulator", "--port", "0", "--api-key", "k1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/api-ws/v1/realtime")
        async with connect(
            url + "?model=qwen3-asr-flash-realtime",
            additional_headers={"Authorization": "Bearer k1"},
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
