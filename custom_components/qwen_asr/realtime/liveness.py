"""Liveness watchdog for the end of a session: silence, not slowness, is a failure.

Qwen finalizes about a quarter of a second after the end of audio and keeps sending
events (speech stopped, committed, the final) while it does. A service that sends
nothing at all after ``session.finish`` has stalled; waiting for the whole finish
timeout (20 s, the SDK's default) would leave the person waiting for nothing. So the
wait for ``session.finished`` ends early when the service has been silent for
``idle`` seconds, while every event that arrives extends it (up to ``total``).
"""

from __future__ import annotations

import asyncio
import time


class Activity:
    """When the service last sent anything (monotonic seconds)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        """Start counting from now."""
        self.last = time.monotonic()

    def touch(self) -> None:
        """Note activity now (a message received, or one written that is due a reply)."""
        self.last = time.monotonic()


class ServiceSilent(TimeoutError):
    """The service sent nothing for the idle window."""

    def __init__(self, idle: float) -> None:
        """Describe the silence (``idle`` seconds)."""
        super().__init__(f"the service sent nothing for {idle:g} s after the end of audio")
        self.idle = idle


async def wait_while_alive(
    flag: asyncio.Event, activity: Activity, *, idle: float | None, total: float
) -> None:
    """Wait for ``flag`` while the service stays alive.

    Raise ServiceSilent after ``idle`` s without activity, or TimeoutError after ``total``
    s; ``idle`` None: only the total bound applies. The silence is counted from the later
    of the call and the last activity.
    """
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = loop.time() + total
    waiter = asyncio.ensure_future(flag.wait())
    try:
        while not waiter.done():
            now = loop.time()
            if now >= deadline:
                raise TimeoutError
            timeout = deadline - now
            if idle is not None:
                silent_for = time.monotonic() - max(started, activity.last)
                if silent_for >= idle:
                    raise ServiceSilent(idle)
                timeout = min(timeout, idle - silent_for)
            await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
