"""Circuit breaker: after Qwen fails, send new requests straight to the fallback for a while.

Shared by the Wyoming server (``--fallback-uri``) and the Home Assistant entity ("If Qwen
fails, use"): the same rule wherever a fallback answers.

The first failure opens the circuit for ``first_seconds``; each failure of the next attempt
doubles the interval, up to ``max_seconds``. A request that Qwen answers closes it again.
Failures of requests that started before the circuit opened do not lengthen it: they are
the same outage, not a new attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_FIRST_SECONDS = 5.0
DEFAULT_MAX_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class BreakerState:
    """What ``health`` and the log report."""

    open: bool
    reason: str  # the last failure ("" before any)
    retry_in: float  # seconds until Qwen is tried again (0 when closed)


class CircuitBreaker:
    """Skips Qwen for a while after it failed, longer after each failure in a row."""

    def __init__(
        self,
        first_seconds: float = DEFAULT_FIRST_SECONDS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Skip Qwen ``first_seconds`` after a failure, doubling up to ``max_seconds``."""
        self.first_seconds = first_seconds
        self.max_seconds = max(max_seconds, first_seconds)
        self._clock = clock
        self._failures = 0  # consecutive failed attempts
        self._open_until = 0.0
        self._reason = ""

    def allows_qwen(self) -> bool:
        """Tell whether Qwen may be tried: not while the circuit is open (the fallback answers)."""
        return self._clock() >= self._open_until

    def record_failure(self, reason: str) -> float:
        """Record that Qwen failed; return the seconds during which it is skipped from now on."""
        now = self._clock()
        self._reason = reason
        if now < self._open_until:
            return self._open_until - now  # already open: the same outage
        self._failures += 1
        interval: float = min(self.first_seconds * 2.0 ** (self._failures - 1), self.max_seconds)
        self._open_until = now + interval
        return interval

    def record_success(self) -> None:
        """Record that Qwen answered: the circuit closes."""
        self._failures = 0
        self._open_until = 0.0

    def state(self) -> BreakerState:
        """Return the circuit's state now (for diagnostics and the health check)."""
        retry_in = max(self._open_until - self._clock(), 0.0)
        return BreakerState(open=retry_in > 0, reason=self._reason, retry_in=retry_in)
