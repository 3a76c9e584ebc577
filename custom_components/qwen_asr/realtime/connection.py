"""Opening the WebSocket to the service, with handshake failures mapped to client errors."""

from __future__ import annotations

import logging
import ssl as ssl_module
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from .config import Timeouts
from .errors import (
    AuthenticationError,
    QwenConnectionError,
    QwenTimeoutError,
    RateLimitError,
    SessionRefusedError,
)
from .redact import RedactingLogger
from .retry import HTTP_TOO_MANY_REQUESTS

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


async def open_socket(
    url: str,
    model: str,
    api_key: str,
    *,
    timeouts: Timeouts,
    ssl_context: ssl_module.SSLContext | None,
    user_agent: str,
) -> ClientConnection:
    """Connect to the realtime endpoint; raises a QwenError saying why it failed.

    A RateLimitError (HTTP 429) may be retried; every other error ends the session.
    """
    host = urlsplit(url).hostname
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
        raise QwenConnectionError(
            f"Cannot connect to {host}: {type(err).__name__}: {err}"
        ) from None
