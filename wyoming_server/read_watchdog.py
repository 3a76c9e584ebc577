"""A read timeout for a connection's read loop that costs one timer per timeout, not per read.

``asyncio.timeout`` around every read schedules and cancels a timer per event: with Home
Assistant's 10 ms audio chunks that is 100 timers a second per stream, about a tenth of the
server's CPU. This watchdog keeps one timer: when it fires it checks whether the read in
progress has lasted longer than the limit, cancels the reading task if so, and otherwise
sets itself for that read's deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ReadWatchdog:
    """Cancel a task whose read lasts longer than a limit, with one timer for all its reads.

    Call ``begin()`` before each read of ``task`` and ``end()`` after; ``expired`` says why the
    task was cancelled. ``limit()`` is read at each read's start (it may change).
    """

    def __init__(self, task: asyncio.Task[object], limit: Callable[[], float]) -> None:
        """Watch the reads of ``task``; ``limit()`` gives the seconds one read may last."""
        self.task = task
        self.reading = False
        self.expired = False
        self._limit = limit
        self._loop = asyncio.get_running_loop()
        self._started = 0.0
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def begin(self) -> None:
        """Start timing a read; set the timer if this read's deadline comes before the one set."""
        self._started = self._loop.time()
        self._deadline = self._started + self._limit()
        self.reading = True
        timer = self._timer
        if timer is None or self._deadline < timer.when():  # a shorter limit than before
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(self._deadline, self._check)

    def end(self) -> None:
        """Mark the read finished: the timer, when it fires, finds nothing to cancel."""
        self.reading = False

    def _check(self) -> None:
        self._timer = None
        if not self.reading:
            return  # the next read sets the timer again
        if self._loop.time() >= self._deadline:
            self.expired = True
            self.task.cancel()
        else:
            self._timer = self._loop.call_at(self._deadline, self._check)

    def close(self) -> None:
        """Cancel the timer; call once the read loop is done."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
