"""The service's account-wide capacity and rate limits, as the ``rate_limit`` fault sends them.

The messages are the ones public clients have seen from the real service; the error
codes are guesses ([INF]), which is why clients should recognise the messages.
"""

from __future__ import annotations

from .behaviour import Faults, RateLimit

# limit -> (error code, message)
RATE_LIMIT_ERRORS: dict[RateLimit, tuple[str, str]] = {
    "connections": ("Throttling.AllocationQuota", "connections too much max_connections 100"),
    "requests": (
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
    ),
    "burst": ("Throttling.BurstRate", "Request rate increased too quickly."),
}
# WebSocket close code 1013: "try again later".
CLOSE_TRY_AGAIN_LATER = 1013


def take_rate_limit(faults: Faults, via: str) -> tuple[str, str] | None:
    """Return the (code, message) refusing this connection if the fault applies to it; count it.

    ``via`` is how this point refuses ("http": the upgrade, "error": an error event); a fault
    limited to some sessions counts them down.
    """
    if faults.rate_limit is None or faults.rate_limit_via != via:
        return None
    if faults.rate_limit_sessions is not None:
        if faults.rate_limit_sessions <= 0:
            return None
        faults.rate_limit_sessions -= 1
    return RATE_LIMIT_ERRORS[faults.rate_limit]
