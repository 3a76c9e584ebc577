"""Home Assistant's websocket API for the e2e tests, on top of the product's client.

``HassWebSocket`` wraps ``wyoming_server.hass.connection.HassConnection`` (one implementation
of authentication, reading and commands) and adds what only tests need: subscriptions to
any command, events with arrival times, binary frames (the first byte of each is the
handler id HA gave the subscription). ``command_sync`` is the one blocking exchange, for
code that runs without an event loop (or inside a running loop's synchronous part, where
the asyncio client cannot be driven): a short connection with the sync websockets client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from websockets.sync.client import connect as connect_sync

from wyoming_server.hass.connection import (
    HassAuthError,
    HassConfig,
    HassConnection,
    HassError,
    HassTimeoutError,
    websocket_url,
)

TIMEOUT_S = 30.0
# websockets logs frames at debug level, auth messages (tokens) included: keep it quiet.
_WS_LOGGER = logging.getLogger(__name__ + ".connection")
_WS_LOGGER.setLevel(logging.INFO)


class HassCommandError(RuntimeError):
    """Home Assistant answered a command with an error (``code``, ``error``)."""

    def __init__(self, command: str, error: dict[str, Any]) -> None:
        super().__init__(f"{command}: {error.get('code')}: {error.get('message')}")
        self.code = str(error.get("code"))
        self.error = error


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


class _RoutedConnection(HassConnection):
    """The product's connection, with each subscription's events in its own stamped queue
    and binary frames (what only the tests need: assist pipelines and their audio)."""

    def __init__(self, config: HassConfig) -> None:
        super().__init__(config)
        self.subscriptions: dict[int, Subscription] = {}

    def _on_event(self, message: dict[str, Any]) -> None:
        msg_id = message.get("id")
        if isinstance(msg_id, int) and isinstance(message.get("event"), dict):
            # An event may arrive before subscribe() has seen its result: keep it.
            queue = self.subscriptions.setdefault(msg_id, Subscription(msg_id)).queue
            queue.put_nowait((time.monotonic(), message["event"]))

    async def subscribe_command(self, kind: str, fields: dict[str, Any]) -> Subscription:
        msg_id, future = await self._send_command(kind, fields)
        subscription = self.subscriptions.setdefault(msg_id, Subscription(msg_id))
        try:
            subscription.result = await self._result(kind, msg_id, future)
        except HassError:
            del self.subscriptions[msg_id]
            raise
        return subscription

    async def send_binary(self, payload: bytes) -> None:
        if self._ws is None:
            raise HassError("not connected to Home Assistant")
        await self._ws.send(payload)


class HassWebSocket:
    """One authenticated connection; ``async with HassWebSocket(url, token) as ws``.

    The product's ``HassConnection`` (wyoming_server/hass/connection.py) does the work:
    authentication, the read loop, commands. This adds what only tests need: any
    subscribing command (``assist_pipeline/run``), events per subscription with their
    arrival time, binary frames, and HassCommandError with HA's error code."""

    def __init__(self, url: str, token: str) -> None:
        self.url = websocket_url(url)
        self._connection = _RoutedConnection(HassConfig(self.url, token, timeout=TIMEOUT_S))

    @property
    def ha_version(self) -> str:
        return self._connection.ha_version or ""

    async def __aenter__(self) -> Self:
        try:
            await self._connection.__aenter__()
        except HassAuthError as err:
            raise HassCommandError("auth", {"code": "auth_invalid", "message": str(err)}) from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._connection.close()

    async def command(self, command: str, **data: Any) -> Any:
        """Send a command and return its result; raises HassCommandError on failure."""
        try:
            return await self._connection.command(command, **data)
        except HassError as err:
            raise _command_error(command, err) from None

    async def subscribe(self, command: str, **data: Any) -> Subscription:
        """Send a subscribing command (events follow its id); returns after its result."""
        try:
            return await self._connection.subscribe_command(command, data)
        except HassError as err:
            raise _command_error(command, err) from None

    async def events(self, subscription: Subscription, timeout: float) -> AsyncIterator[Any]:
        """Iterate a subscription's events until ``timeout`` passes without one."""
        while True:
            try:
                yield await subscription.next_event(timeout)
            except TimeoutError:
                return

    async def send_binary(self, handler_id: int, payload: bytes) -> None:
        """A binary frame for a handler: one byte of handler id, then the payload."""
        await self._connection.send_binary(bytes((handler_id,)) + payload)


def _command_error(command: str, err: HassError) -> Exception:
    """HA's answer to a failed command as HassCommandError; a lost connection as
    ConnectionError and no answer in time as TimeoutError, as before."""
    if err.code is not None:
        message = str(err).partition(": ")[2].partition(": ")[2]
        return HassCommandError(command, {"code": err.code, "message": message})
    if isinstance(err, HassTimeoutError):
        return TimeoutError(str(err))
    return ConnectionError(str(err))
