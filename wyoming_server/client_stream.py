"""One client connection's reads and writes, each bounded in time.

Reads go through ``wire.read_event`` (bounded in size) under a ``ReadWatchdog`` (one timer,
not one per read). Writes give up after ``WRITE_TIMEOUT_SECONDS``. A failure is told with
a Wyoming Error and the end of the stream, then the input is read and discarded for
``LINGER_SECONDS`` before the close: closing a socket with unread data sends a TCP reset,
which can destroy the Error before the client reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from qwen_asr_realtime import redact
from wyoming.error import Error
from wyoming.event import Event, async_write_event

from .read_watchdog import ReadWatchdog
from .wire import discard_input, read_event

_LOGGER = logging.getLogger(__name__)

WRITE_TIMEOUT_SECONDS = 10.0
LINGER_SECONDS = 2.0


class ClientStream:
    """The reader and writer of one connection, read by one task."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        read_timeout: Callable[[], float],
    ) -> None:
        """Bound each read by ``read_timeout()``, asked at the read's start."""
        self.reader = reader
        self.writer = writer
        self._read_timeout = read_timeout
        self._closing = asyncio.Event()  # set to end the read loop from another task
        self._watchdog: ReadWatchdog | None = None  # on the reading task, from its first read

    async def next_event(self) -> Event | None:
        """Return the next event; None at the end or when stopped.

        Raise TimeoutError when the client is silent longer than ``read_timeout()``, and
        WireError for a malformed event. The read is awaited directly (no helper tasks or
        timers): this runs once per audio chunk, and every extra event-loop iteration costs
        CPU on a Pi. ``stop_reading`` and the watchdog interrupt it.
        """
        if self._closing.is_set():
            return None
        watchdog = self._watchdog
        if watchdog is None:
            task = asyncio.current_task()
            assert task is not None
            watchdog = self._watchdog = ReadWatchdog(task, self._read_timeout)
        watchdog.begin()
        try:
            return await read_event(self.reader)
        except asyncio.CancelledError:
            if (self._closing.is_set() or watchdog.expired) and watchdog.task.uncancel() == 0:
                if self._closing.is_set():
                    return None
                raise TimeoutError from None
            raise
        finally:
            watchdog.end()

    def stop_reading(self) -> None:
        """End the read loop from another task (shutdown, or a failure of the result task)."""
        self._closing.set()
        watchdog = self._watchdog
        if (
            watchdog is not None
            and watchdog.reading
            and watchdog.task is not asyncio.current_task()
        ):
            watchdog.task.cancel()

    async def write(self, event: Event) -> None:
        """Write ``event``; a client that cannot take it in time is closed."""
        if self.writer.is_closing():
            return
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_SECONDS):
                await async_write_event(event, self.writer)
        except (ConnectionError, OSError, TimeoutError) as err:
            _LOGGER.debug("Cannot write %s: %s", event.type, err)
            self.writer.close()

    async def send_error(self, text: str, code: str) -> None:
        """Write a Wyoming Error, then the end of the stream: the client sees it at once."""
        # The outbound boundary: an HTTP-layer error may quote a header, a credential.
        await self.write(Error(text=redact(text), code=code).event())
        with contextlib.suppress(OSError, RuntimeError):
            if self.writer.can_write_eof() and not self.writer.is_closing():
                self.writer.write_eof()

    async def linger(self) -> None:
        """Read and discard input for up to ``LINGER_SECONDS`` (after an Error)."""
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            await discard_input(self.reader, LINGER_SECONDS)

    def close(self) -> None:
        """Stop the watchdog's timer and close the connection."""
        if self._watchdog is not None:
            self._watchdog.close()
        self.writer.close()
