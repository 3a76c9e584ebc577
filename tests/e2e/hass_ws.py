"""Home Assistant's websocket API: authenticate, send commands, follow subscriptions, and
send binary frames (the first byte of each is the handler id HA gave the subscription)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.sync.client import connect as connect_sync

TIMEOUT_S = 30.0
# websockets logs frames at debug level, auth messages (tokens) included: keep it quiet.
_WS_LOGGER = logging.getLogger(__name__ + ".connection")
_WS_LOGGER.setLevel(logging.INFO)


class HassCommandError(RuntimeError):
    def __init__(self, command: str, error: dict[str, Any]) -> None:
        super().__init__(f"{command}: {error.get('code')}: {error.get('message')}")
        self.code = str(error.get("code"))
        self.error = error


def websocket_url(url: str) -> str:
    return url.replace("http://", "ws://", 1).rstrip("/") + "/api/websocket"


def _auth_message(token: str) -> str:
    return json.dumps({"type": "auth", "access_token": token})


def command_sync(url: str, token: str, command: str, **data: Any) -> Any:
    """One command over a short blocking connection (for code without an event loop)."""
    with connect_sync(websocket_url(url), open_timeout=TIMEOUT_S, logger=_WS_LOGGER) as ws:
        json.loads(ws.recv(TIMEOUT_S))  # auth_required
        ws.send(_auth_message(token))
        reply = json.loads(ws.recv(TIMEOUT_S))
        if reply["type"] != "auth_ok":
            raise HassCommandError("auth", reply)
        ws.send(json.dumps({"id": 1, "type": command, **data}))
        result = json.loads(ws.recv(TIMEOUT_S))
        if not result.get("success"):
            raise HassCommandError(command, result.get("error") or {})
        return result.get("result")


def create_long_lived_token(url: str, access_token: str, name: str = "qwen-e2e") -> str:
    """``auth/long_lived_access_token``, as the profile page creates one."""
    token = command_sync(
        url, access_token, "auth/long_lived_access_token", client_name=name, lifespan=30
    )
    return str(token)


@dataclass
class Subscription:
    """Messages for one subscription id, each with the monotonic time it arrived."""

    id: int
    result: Any = None
    queue: asyncio.Queue[tuple[float, dict[str, Any]]] = field(default_factory=asyncio.Queue)

    async def next_event(self, timeout: float = TIMEOUT_S) -> tuple[float, dict[str, Any]]:
        """(arrival time, event) of the next event; raises TimeoutError."""
        async with asyncio.timeout(timeout):
            return await self.queue.get()


class HassWebSocket:
    """One authenticated connection; ``async with HassWebSocket(url, token) as ws``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = websocket_url(url)
        self._token = token
        self._ws: ClientConnection | None = None
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._subscriptions: dict[int, Subscription] = {}
        self._reader: asyncio.Task[None] | None = None
        self.ha_version = ""

    async def __aenter__(self) -> Self:
        self._ws = await connect(self.url, open_timeout=TIMEOUT_S, max_size=None, logger=_WS_LOGGER)
        async with asyncio.timeout(TIMEOUT_S):
            await self._ws.recv()  # auth_required
            await self._ws.send(_auth_message(self._token))
            reply = json.loads(await self._ws.recv())
        if reply["type"] != "auth_ok":
            await self._ws.close()
            raise HassCommandError("auth", reply)
        self.ha_version = str(reply.get("ha_version", ""))
        self._reader = asyncio.create_task(self._read(), name="hass websocket reader")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            await self._ws.close()

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                arrived = time.monotonic()
                for message in _messages(raw):
                    self._dispatch(arrived, message)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("websocket closed"))

    def _dispatch(self, arrived: float, message: dict[str, Any]) -> None:
        msg_id = message.get("id")
        if not isinstance(msg_id, int):
            return
        if message.get("type") == "event" and msg_id in self._subscriptions:
            self._subscriptions[msg_id].queue.put_nowait((arrived, message["event"]))
        elif message.get("type") == "result" and msg_id in self._pending:
            future = self._pending.pop(msg_id)
            if not future.done():
                future.set_result(message)

    async def _send(self, payload: dict[str, Any]) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        assert self._ws is not None, "not connected"
        msg_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send(json.dumps({**payload, "id": msg_id}))
        return msg_id, future

    async def command(self, command: str, **data: Any) -> Any:
        """Send a command and return its result; raises HassCommandError on failure."""
        _, future = await self._send({"type": command, **data})
        async with asyncio.timeout(TIMEOUT_S):
            reply = await future
        if not reply.get("success"):
            raise HassCommandError(command, reply.get("error") or {})
        return reply.get("result")

    async def subscribe(self, command: str, **data: Any) -> Subscription:
        """Send a subscribing command (events follow its id); returns after its result."""
        assert self._ws is not None, "not connected"
        msg_id = self._next_id
        subscription = Subscription(msg_id)
        self._subscriptions[msg_id] = subscription
        _, future = await self._send({"type": command, **data})
        async with asyncio.timeout(TIMEOUT_S):
            reply = await future
        if not reply.get("success"):
            del self._subscriptions[msg_id]
            raise HassCommandError(command, reply.get("error") or {})
        subscription.result = reply.get("result")
        return subscription

    async def events(self, subscription: Subscription, timeout: float) -> AsyncIterator[Any]:
        """Iterate a subscription's events until ``timeout`` passes without one."""
        while True:
            try:
                yield await subscription.next_event(timeout)
            except TimeoutError:
                return

    async def send_binary(self, handler_id: int, payload: bytes) -> None:
        """A binary frame for a handler: one byte of handler id, then the payload."""
        assert self._ws is not None, "not connected"
        await self._ws.send(bytes((handler_id,)) + payload)


def _messages(raw: str | bytes) -> list[dict[str, Any]]:
    # HA may coalesce several messages into one JSON array.
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]
