"""A read-only client of Home Assistant's websocket API: authenticate, commands, events.

The token travels inside the ``auth`` message, so it is only ever sent over TLS or to
this host (or to the Supervisor, inside an add-on's private network): ``ws://`` to any
other host is refused before connecting. websockets logs frames at debug level, the
``auth`` frame too, so this connection's websockets logger never logs below INFO.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

_LOGGER = logging.getLogger(__name__)

SUPERVISOR_HOST = "supervisor"  # inside an add-on: the Supervisor proxies Core's API
SUPERVISOR_URL = "http://supervisor/core"
SUPERVISOR_CORE_PATH = "/core/websocket"  # Core's websocket API as the Supervisor proxies it
MAX_MESSAGE_BYTES = 64 * 2**20  # get_states of a large home is several MiB
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class HassError(Exception):
    """Home Assistant could not be reached, refused the token, or failed a command.

    ``code`` is the error code of Home Assistant's answer to a failed command (None when
    there was no answer).
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        """Keep ``message`` and Home Assistant's error ``code`` (None when there was no answer)."""
        super().__init__(message)
        self.code = code


class HassTimeoutError(HassError):
    """Home Assistant did not answer in time."""


class HassAuthError(HassError):
    """Home Assistant rejected the access token."""


@dataclass(frozen=True, slots=True)
class HassConfig:
    """Where Home Assistant is and the token to read it with (never printed)."""

    url: str  # the websocket URL, see websocket_url()
    token: str = field(repr=False)
    timeout: float = 10.0  # connect, authenticate, and each command


def websocket_url(base: str) -> str:
    """Return the websocket API URL for ``base``; ValueError for URLs that would expose the token.

    ``base`` is ``http(s)://host[:port]``, ``ws(s)://``, or a full ``.../websocket`` URL.
    """
    parts = urlsplit(base.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ValueError(f"Home Assistant URL must be http(s):// or ws(s)://HOST: {base!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("Home Assistant URL must not carry credentials or a query string")
    if scheme == "ws" and not is_private_host(parts.hostname):
        raise ValueError(
            f"refusing to send the Home Assistant token unencrypted to {parts.hostname}: "
            "use https:// (or run this server on the Home Assistant host)"
        )
    path = parts.path.rstrip("/")
    if not path.endswith("/websocket"):
        if parts.hostname == SUPERVISOR_HOST:
            path = path or "/core"
            path += "/websocket"
        else:
            path = path.removesuffix("/api") + "/api/websocket"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def is_private_host(host: str) -> bool:
    """Tell whether ws:// may carry the token to ``host``: only to this host or the Supervisor."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES or name == SUPERVISOR_HOST:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets' logger for this connection: nothing below INFO (frames hold the token)."""

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.INFO and self.logger.isEnabledFor(level)


class HassConnection:
    """One authenticated websocket connection; ``command`` and ``events`` may interleave."""

    def __init__(self, config: HassConfig) -> None:
        """Prepare a connection to ``config.url``; ``async with`` opens and authenticates it."""
        self._config = config
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.ha_version: str | None = None

    def __repr__(self) -> str:
        """Show the URL and Home Assistant's version, never the token."""
        return f"<HassConnection url={self._config.url!r} version={self.ha_version!r}>"

    async def __aenter__(self) -> Self:
        """Connect and authenticate; HassError, or HassAuthError for a rejected token."""
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the connection."""
        await self.close()

    async def _open(self) -> None:
        timeout = self._config.timeout
        host = urlsplit(self._config.url).hostname
        try:
            self._ws = await connect(
                self._config.url,
                open_timeout=timeout,
                close_timeout=2.0,
                max_size=MAX_MESSAGE_BYTES,
                logger=_QuietLogger(logging.getLogger("websockets.client"), {}),
            )
            async with asyncio.timeout(timeout):
                hello = await self._receive()
                if hello.get("type") != "auth_required":
                    raise HassError(f"{host} does not speak Home Assistant's websocket API")
                await self._ws.send(
                    json.dumps({"type": "auth", "access_token": self._config.token})
                )
                answer = await self._receive()
        except InvalidStatus as err:
            raise HassError(
                f"{host} refused the websocket: HTTP {err.response.status_code}"
            ) from None
        except TimeoutError:
            raise HassTimeoutError(f"timed out connecting to {host}") from None
        except (OSError, WebSocketException) as err:
            raise HassError(f"cannot connect to {host}: {type(err).__name__}: {err}") from None
        if answer.get("type") == "auth_invalid":
            raise HassAuthError(f"{host} rejected the access token")
        if answer.get("type") != "auth_ok":
            raise HassError(f"unexpected answer to authentication from {host}")
        version = answer.get("ha_version")
        self.ha_version = version if isinstance(version, str) else None
        self._reader = asyncio.create_task(self._read_loop(), name="hass-read")

    async def _receive(self) -> dict[str, Any]:
        assert self._ws is not None
        message = await self._ws.recv()
        try:
            data = json.loads(message)
        except ValueError:
            raise HassError("Home Assistant sent invalid JSON") from None
        if not isinstance(data, dict):
            raise HassError("Home Assistant sent a message that is not an object")
        return data

    async def _read_loop(self) -> None:
        assert self._ws is not None
        failure: HassError = HassError("Home Assistant closed the connection")
        try:
            async for message in self._ws:
                for data in _messages(message):
                    self._dispatch(data)
        except ConnectionClosed as err:
            failure = HassError(f"connection to Home Assistant lost ({err})")
        except ValueError:
            failure = HassError("Home Assistant sent invalid JSON")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()
        self._events.put_nowait(None)

    def _dispatch(self, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "event":
            self._on_event(data)
        elif kind == "result" and (future := self._pending.pop(data.get("id", -1), None)):
            if future.done():
                return
            if data.get("success"):
                future.set_result(data.get("result"))
            else:
                error = data.get("error") or {}
                code = str(error.get("code", "error"))
                future.set_exception(HassError(f"{code}: {error.get('message', '')}", code))

    def _on_event(self, message: dict[str, Any]) -> None:
        """Keep an event message (its ``id`` is the subscribing command's) for next_event."""
        self._events.put_nowait(message)

    async def command(self, kind: str, **fields: Any) -> Any:
        """Send one command and return its ``result``; raises HassError."""
        message_id, future = await self._send_command(kind, fields)
        return await self._result(kind, message_id, future)

    async def _send_command(
        self, kind: str, fields: dict[str, Any]
    ) -> tuple[int, asyncio.Future[Any]]:
        """Send a command; its id (events of a subscription carry it) and its result."""
        if self._ws is None or self._reader is None or self._reader.done():
            raise HassError("not connected to Home Assistant")
        message_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await self._ws.send(json.dumps({"id": message_id, "type": kind, **fields}))
        except ConnectionClosed:
            self._pending.pop(message_id, None)
            raise HassError("connection to Home Assistant lost") from None
        return message_id, future

    async def _result(self, kind: str, message_id: int, future: asyncio.Future[Any]) -> Any:
        try:
            async with asyncio.timeout(self._config.timeout):
                return await future
        except TimeoutError:
            raise HassTimeoutError(f"Home Assistant did not answer {kind} in time") from None
        except HassError as err:
            raise HassError(f"{kind} failed: {err}", err.code) from None
        finally:
            self._pending.pop(message_id, None)

    async def subscribe(self, event_type: str) -> None:
        """Subscribe to events of ``event_type``; next_event returns them."""
        await self.command("subscribe_events", event_type=event_type)

    async def next_event(self) -> dict[str, Any]:
        """Return the next subscribed event (its ``event`` object); HassError once disconnected.

        Safe to cancel (a timeout around it loses nothing).
        """
        while True:
            item = await self._events.get()
            if item is None:
                self._events.put_nowait(None)  # later calls fail too
                raise HassError("connection to Home Assistant lost")
            event = item.get("event")
            if isinstance(event, dict):
                return event

    async def close(self) -> None:
        """Stop reading and close the websocket (bounded wait); safe to call twice."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2.0)


def _messages(raw: str | bytes) -> list[dict[str, Any]]:
    """Return the messages of one frame: HA may coalesce several into one JSON array."""
    data = json.loads(raw)
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict)]
