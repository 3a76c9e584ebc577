"""A raw WebSocket client for driving the emulator in tests."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from wyoming_server.emulator import QwenEmulator

MODEL = "qwen3-asr-flash-realtime"
FINAL_TYPES = {
    "conversation.item.input_audio_transcription.completed",
    "conversation.item.input_audio_transcription.failed",
}


class RawClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, kind: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"event_id": "event_test", "type": kind, **fields}))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def update(self, **session: Any) -> dict[str, Any]:
        await self.send("session.update", session=session)
        return await self.recv()

    async def append(self, pcm: bytes, chunk_bytes: int = 3200) -> None:
        for start in range(0, len(pcm), chunk_bytes):
            chunk = base64.b64encode(pcm[start : start + chunk_bytes]).decode()
            await self.send("input_audio_buffer.append", audio=chunk)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(event)
        return event

    async def recv_until(self, kind: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Events up to and including the first of type ``kind``."""
        events = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.recv(timeout)
                events.append(event)
                if event["type"] == kind:
                    return events

    @staticmethod
    def types(events: list[dict[str, Any]]) -> list[str]:
        return [event["type"] for event in events]

    async def finish(self) -> list[dict[str, Any]]:
        await self.send("session.finish")
        return await self.recv_until("session.finished")


Connect = Callable[..., Awaitable[RawClient]]


@pytest.fixture
async def connect_client(emulator: QwenEmulator) -> AsyncIterator[Connect]:
    """``await connect_client()`` -> RawClient that has already read ``session.created``."""
    async with AsyncExitStack() as stack:

        async def _connect(
            *,
            key: str | None = "test-key",
            scheme: str = "Bearer",
            model: str | None = MODEL,
            path_suffix: str = "",
            read_created: bool = True,
        ) -> RawClient:
            url = emulator.url + path_suffix + (f"?model={model}" if model else "")
            headers = {"Authorization": f"{scheme} {key}"} if key is not None else {}
            ws = await stack.enter_async_context(connect(url, additional_headers=headers))
            client = RawClient(ws)
            if read_created:
                created = await client.recv()
                assert created["type"] == "session.created"
            return client

        yield _connect


@pytest.fixture(autouse=True)
def _quiet_raw_client_handshake() -> Iterator[None]:
    """These tests' raw websockets clients log their own handshake headers (the test key
    included) at debug level; the product's client masks them, these test clients don't."""
    logger = logging.getLogger("websockets.client")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)
