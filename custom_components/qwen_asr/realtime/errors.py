"""Exceptions raised by the Qwen realtime client.

Messages never contain the API key: the client only ever formats URLs, status codes
and the service's own error text into them.
"""

from __future__ import annotations

HTTP_NOT_FOUND = 404


class QwenError(Exception):
    """Base class of every error this client raises."""


class ConfigError(QwenError, ValueError):
    """The session configuration is invalid; nothing was sent."""


class InsecureEndpointError(ConfigError):
    """A ``ws://`` endpoint on another machine, which would expose the key; nothing was sent."""


class AuthenticationError(QwenError):
    """The service rejected the API key (HTTP 401/403 at the WebSocket handshake)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"Authentication failed (HTTP {status}): check the API key and region")
        self.status = status


class QwenConnectionError(QwenError):
    """The service could not be reached, refused the upgrade, or dropped the connection."""


class SessionRefusedError(QwenConnectionError):
    """The service answered the WebSocket upgrade with an HTTP error other than 401/403."""

    def __init__(self, host: str | None, status: int) -> None:
        # The path is fixed and the model travels in the query: a model name the service does
        # not know (a typo, a retired snapshot) is the likely cause of a 404.
        hint = (
            ": check the model name (--model, or the Model option)"
            if status == HTTP_NOT_FOUND
            else ""
        )
        super().__init__(f"{host} refused the session: HTTP {status}{hint}")
        self.status = status


class QwenTimeoutError(QwenConnectionError, TimeoutError):
    """The service did not answer within the allowed time."""


class ServiceError(QwenError):
    """The service sent an ``error`` event (or a ``failed`` transcription)."""

    def __init__(
        self, code: str, message: str, *, error_type: str = "", param: str | None = None
    ) -> None:
        detail = f" (param {param})" if param else ""
        super().__init__(f"Qwen service error {code or error_type or 'unknown'}: {message}{detail}")
        self.code = code
        self.message = message
        self.error_type = error_type
        self.param = param


class ProtocolError(QwenError):
    """The service sent something the protocol does not allow (bad JSON, binary frame...)."""


class RateLimitError(QwenError):
    """The account hit a capacity or rate limit (too many sessions, requests too fast).

    Account-wide and temporary: the service clears it within about a minute. The client
    already retried connecting a few times before raising this.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Qwen is rate limiting this account ({detail}): too many recognitions at once "
            "or in a short time. Wait a minute and try again; if it keeps happening, lower "
            "the number of simultaneous requests or raise the account's quota."
        )
        self.detail = detail
