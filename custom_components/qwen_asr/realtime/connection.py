"""Opening the WebSocket to the service, with handshake failures mapped to client errors."""

from __future__ import annotations

import logging
import socket
import ssl as ssl_module
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from .errors import (
    AuthenticationError,
    QwenConnectionError,
    QwenTimeoutError,
    RateLimitError,
    SessionRefusedError,
)
from .redaction import RedactingLogger, redact
from .retry import HTTP_TOO_MANY_REQUESTS

if TYPE_CHECKING:
    from .config import Timeouts

HTTP_REDIRECTS = range(300, 400)


class _connect_here(connect):
    """websockets' ``connect`` without redirects.

    websockets follows up to ten redirects to any host, ``ws://`` included (it drops the
    Authorization header across origins, but the audio would still go there), which would
    escape the ``ws://``-to-loopback-only rule checked for the configured URL. The service
    does not redirect: a redirect is an error, reported with its status.
    """

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


Direction = Literal["sent", "received"]


class ConnectionObserver(Protocol):
    """Sees one connection's course, for diagnostics (``wyoming-qwen-asr check``).

    Called on the event loop; must not block. Never sees the handshake's headers.
    """

    def transport_ready(self) -> None:
        """Note that TCP (and TLS, for wss://) is up; the WebSocket upgrade follows."""

    def message(self, direction: Direction, data: str | bytes) -> None:
        """Note a WebSocket message, as written or as read."""

    def closed(self, code: int | None) -> None:
        """Note the connection's end; ``code`` is the service's close code, if it sent one."""


class _ObservedConnection(ClientConnection):
    """A connection that reports its messages, and its transport's start and end."""

    observer: ConnectionObserver  # set on the per-connection subclass

    def connection_made(self, transport: Any) -> None:
        # asyncio calls this once TCP, and TLS if any, are up: before the upgrade.
        self.observer.transport_ready()
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        received = self.protocol.close_rcvd
        self.observer.closed(None if received is None else received.code)

    async def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(message, str | bytes):
            self.observer.message("sent", message)
        await super().send(message, *args, **kwargs)

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        message = await super().recv(*args, **kwargs)
        self.observer.message("received", message)
        return message


def _observed(observer: ConnectionObserver) -> type[ClientConnection]:
    return type("ObservedConnection", (_ObservedConnection,), {"observer": observer})


async def open_socket(
    url: str,
    model: str,
    api_key: str,
    *,
    timeouts: Timeouts,
    ssl_context: ssl_module.SSLContext | None,
    user_agent: str,
    observer: ConnectionObserver | None = None,
    sock: socket.socket | None = None,
) -> ClientConnection:
    """Connect to the realtime endpoint; raises a QwenError saying why it failed.

    A RateLimitError (HTTP 429) may be retried; every other error ends the session.
    ``observer`` sees the connection's messages; ``sock``, already connected to the
    endpoint's host, is used instead of a new one (to time TCP apart from TLS).
    """
    host = urlsplit(url).hostname
    extra: dict[str, Any] = {} if sock is None else {"sock": sock}
    if observer is not None:
        extra["create_connection"] = _observed(observer)
    try:
        return await _connect_here(
            f"{url}?model={quote(model, safe='')}",
            additional_headers={"Authorization": f"Bearer {api_key}"},
            user_agent_header=user_agent,
            open_timeout=timeouts.connect,
            close_timeout=timeouts.close,
            # Base64 audio barely compresses; deflate would only cost CPU on a Pi.
            compression=None,
            # True: websockets' default context, certificates and host name verified.
            # (None is refused for wss:// URIs.)
            ssl=(ssl_context or True) if url.startswith("wss://") else None,
            max_size=2**22,
            # websockets logs every handshake header at debug level, Authorization too.
            logger=RedactingLogger(logging.getLogger("websockets.client"), api_key),
            **extra,
        )
    except InvalidStatus as err:
        status = err.response.status_code
        if status in (401, 403):
            raise AuthenticationError(status) from None
        if status == HTTP_TOO_MANY_REQUESTS:
            raise RateLimitError(f"HTTP {status} from {host}") from None
        if status in HTTP_REDIRECTS:
            raise QwenConnectionError(
                f"{host} redirected the session elsewhere (HTTP {status}); redirects are "
                "not followed: configure the endpoint the service names"
            ) from None
        raise SessionRefusedError(host, status) from None
    except TimeoutError:
        raise QwenTimeoutError(f"Timed out connecting to {host}") from None
    except (OSError, WebSocketException) as err:
        # An HTTP-layer error may quote a request header: the key's, or another credential.
        raise QwenConnectionError(
            redact(f"Cannot connect to {host}: {type(err).__name__}: {err}", api_key)
        ) from None
