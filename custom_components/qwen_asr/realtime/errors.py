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
        """Describe the refusal (the handshake's HTTP status)."""
        super().__init__(f"Authentication failed (HTTP {status}): check the API key and region")
        self.status = status


class QwenConnectionError(QwenError):
    """The service could not be reached, refused the upgrade, or dropped the connection."""


class SessionRefusedError(QwenConnectionError):
    """The service answered the WebSocket upgrade with an HTTP error other than 401/403."""

    def __init__(self, host: str | None, status: int) -> None:
        """Describe the refusal by ``host`` (the HTTP status, a hint for a 404)."""
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


class SessionIdleError(QwenTimeoutError):
    """The service closed the session on its own, before ``session.finish``: its idle limit.

    The service ends a session that received no audio for a while (public clients keep
    theirs alive against a 60 s limit; the limit and its close code are undocumented). A
    clean close the client did not ask for, with no ``error`` event, has no other known cause.
    """

    def __init__(self, code: int, reason: str) -> None:
        """Describe the close (its code and reason as the service sent them)."""
        super().__init__(
            f"Qwen closed the session after a pause in the audio (its idle limit; close code "
            f"{code}{' ' + reason if reason else ''})"
        )
        self.code = code
        self.reason = reason


class ServiceError(QwenError):
    """The service sent an ``error`` event (or a ``failed`` transcription)."""

    def __init__(
        self, code: str, message: str, *, error_type: str = "", param: str | None = None
    ) -> None:
        """Describe the service's error (its code, message and the parameter it names)."""
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
        """Describe the limit (``detail``: what the service said) and what to do."""
        super().__init__(
            f"Qwen is rate limiting this account ({detail}): too many recognitions at once "
            "or in a short time. Wait a minute and try again; if it keeps happening, lower "
            "the number of simultaneous requests or raise the account's quota."
        )
        self.detail = detail


class ConnectionCapError(RateLimitError):
    """The account's cap on simultaneous connections is reached (``max_connections``).

    The service says ``connections too much max_connections 100`` right after the upgrade.
    Every open session of the account counts, from any program using the same key.
    """

    def __init__(self, limit: int | None, detail: str) -> None:
        """Describe the cap: its number (None if the message had none), and the message."""
        cap = f"{limit} " if limit is not None else ""
        QwenError.__init__(
            self,
            f"Qwen refused the session: the account already has its maximum of {cap}"
            f"simultaneous connections ({detail}); the sessions of every program using this "
            "key count. Wait a minute and try again; if it keeps happening, lower the number "
            "of simultaneous requests or raise the account's quota.",
        )
        self.detail = detail
        self.limit = limit
