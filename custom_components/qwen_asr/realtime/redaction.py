"""Keeps credentials out of every text that leaves the process.

``redact`` is the one boundary: Wyoming ``Error`` texts, ``Info`` descriptions, ``health``
output, log records and Home Assistant's diagnostics and repair texts pass through it. It
masks the secrets it knows by value and, whatever the input, anything shaped like a
credential: an HTTP library's error that quotes a header (websockets' ``invalid
Authorization header: Bearer ...``), an ``Authorization`` header, a ``Bearer``/``Basic``
credential, a DashScope-style ``sk-...`` key, a URL's user:password.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "***"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Secrets of this process (the API key, a Home Assistant token), masked by value in every
# text; a process has a handful, this bounds a caller that registers one per request.
MAX_KNOWN_SECRETS = 16
_known_secrets: list[str] = []

# A header's value may hold any character, line breaks included (that is how it reaches an
# error text), so nothing marks its end: everything after the header's name is masked.
_HEADER_VALUE = re.compile(
    r"(?is)(\binvalid\s+[\w-]+\s+header:?|"  # websockets: invalid <Name> header: <value>
    r"\b(?:proxy-)?authorization\b[\"']?\s*[:=,])"  # Authorization: v / ('Authorization', v)
    r"\s*\S.*"
)
_CREDENTIAL = re.compile(
    r"(?i)(\b(?:bearer|basic)\s+)\S+"  # an auth scheme and its credential
    r"|\bsk-[\w\-.~+/=]+"  # a DashScope / OpenAI-style key
    r"|(?<=://)[^/\s@]+@"  # user:password@ in a URL
)


def remember_secret(secret: str) -> None:
    """Mask ``secret`` by value in every later ``redact`` (at most MAX_KNOWN_SECRETS kept)."""
    if secret and secret not in _known_secrets:
        if len(_known_secrets) >= MAX_KNOWN_SECRETS:
            del _known_secrets[0]
        _known_secrets.append(secret)


def redact(text: str, *secrets: str) -> str:
    """``text`` with ``secrets``, the remembered secrets and credential-shaped text masked."""
    for secret in (*secrets, *_known_secrets):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _HEADER_VALUE.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    return _CREDENTIAL.sub(_mask_credential, text)


def _mask_credential(match: re.Match[str]) -> str:
    scheme = match.group(1)
    if scheme:
        return scheme + REDACTED
    return f"{REDACTED}@" if match.group(0).endswith("@") else REDACTED


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logs like ``logger`` but masks a known secret and the value of auth headers.

    websockets logs each handshake header as ``"> %s: %s" % (name, value)`` at debug level,
    on the client and on the server side alike.
    """

    def __init__(self, logger: logging.Logger, secret: str = "") -> None:
        """Log to ``logger``, masking ``secret`` as well as the remembered ones."""
        super().__init__(logger, {})
        self._secret = secret

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Format the message with auth header values masked, then pass it through redact."""
        if not self.isEnabledFor(level):
            return
        masked = list(args)
        for index, arg in enumerate(masked[:-1]):
            if isinstance(arg, str) and arg.lower() in _SECRET_HEADERS:
                masked[index + 1] = REDACTED
        text = str(msg) % tuple(masked) if masked else str(msg)
        self.logger.log(level, redact(text, self._secret), **kwargs)
