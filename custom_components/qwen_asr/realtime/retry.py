"""Capacity and rate limits: recognising them, and the short retry that hides a burst.

The service reports these account-wide limits (public clients have seen each one):
``connections too much max_connections 100`` as an ``error`` event right after the
WebSocket upgrade, ``Requests rate limit exceeded, please try again later`` and
``Request rate increased too quickly``, or HTTP 429 at the upgrade. They clear within
about a minute, so a burst of requests is best absorbed by retrying the connection a
few times with a short, bounded backoff: the audio is held until the session is ready
anyway, so a retry costs the speaker a delay instead of the command.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConnectionCapError, RateLimitError, ServiceError

if TYPE_CHECKING:
    from .events import ErrorEvent

# Lower-case fragments of the service's limit messages, and its throttling error codes.
_LIMIT_PHRASES = (
    "connections too much",
    "max_connections",
    "rate limit exceeded",
    "rate increased too quickly",
    "too many requests",
)

_LIMIT_CODE_PREFIXES = ("throttling", "ratelimit", "rate_limit")
HTTP_TOO_MANY_REQUESTS = 429
# The connection cap's message, and the number in it.
_CONNECTION_CAP = re.compile(r"connections too much|max_connections\D{0,3}(\d+)", re.IGNORECASE)


def is_rate_limit(code: str, message: str) -> bool:
    """Whether an error's code or message is one of the service's capacity/rate limits."""
    lowered = code.lower()
    if any(lowered.startswith(prefix) for prefix in _LIMIT_CODE_PREFIXES):
        return True
    text = message.lower()
    return any(phrase in text for phrase in _LIMIT_PHRASES)


def error_from_event(event: ErrorEvent) -> ServiceError | RateLimitError:
    """Return the exception an ``error`` event ends the session with."""
    if caps := list(_CONNECTION_CAP.finditer(event.message)):
        limit = next((int(match.group(1)) for match in caps if match.group(1)), None)
        return ConnectionCapError(limit, event.message)
    if is_rate_limit(event.code, event.message):
        return RateLimitError(event.message or event.code)
    return ServiceError(event.code, event.message, error_type=event.error_type, param=event.param)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays (seconds) before each new connection attempt after a rate limit.

    The default waits 0.25 + 0.5 + 1 + 2 s at most (±``jitter``), so a burst costs a
    few seconds; a limit that outlasts the retries is reported as ``RateLimitError``.
    Jitter spreads the retries of many requests that hit the limit together.
    """

    delays: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
    jitter: float = 0.2  # each delay is scaled by a random factor in [1 - jitter, 1 + jitter]

    def backoff(self) -> Iterator[float]:
        """Yield the delay before each retry, with jitter."""
        for delay in self.delays:
            yield max(0.0, delay * (1 + random.uniform(-self.jitter, self.jitter)))

    @property
    def max_total_delay(self) -> float:
        """Return the longest the retries can wait in all."""
        return sum(self.delays) * (1 + self.jitter)


NO_RETRY = RetryPolicy(delays=())
