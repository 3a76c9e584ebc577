"""Keeps credentials out of log output produced by libraries we hand a logger to."""

from __future__ import annotations

import logging
from typing import Any

REDACTED = "***"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logs like ``logger`` but masks a known secret and the value of auth headers.

    websockets logs each handshake header as ``"> %s: %s" % (name, value)`` at debug level,
    on the client and on the server side alike.
    """

    def __init__(self, logger: logging.Logger, secret: str = "") -> None:
        super().__init__(logger, {})
        self._secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        masked = list(args)
        for index, arg in enumerate(masked[:-1]):
            if isinstance(arg, str) and arg.lower() in _SECRET_HEADERS:
                masked[index + 1] = REDACTED
        text = str(msg) % tuple(masked) if masked else str(msg)
        if self._secret:
            text = text.replace(self._secret, REDACTED)
        self.logger.log(level, text, **kwargs)
