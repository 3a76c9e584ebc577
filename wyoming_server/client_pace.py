"""How long a connection waits for its client, and --min-audio-rate.

A connection without a request is closed after ``idle_connection_seconds``. A request's
audio may pause ``request_idle_seconds``, and no longer than until it falls below
``min_audio_rate`` x real time: a request holds a Qwen session slot while its audio
arrives, and audio that trickles (a stalled or hostile client) would hold it for nothing.
The rate is counted from the request's first audio, never before the grace period's end.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import ServerSettings


class ClientPace:
    """The read timeout of one connection, and the pace of its open request's audio."""

    def __init__(self, settings: ServerSettings) -> None:
        """Take the timeouts and --min-audio-rate (0: no minimum) from ``settings``."""
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._began = 0.0  # when the open request's audio began
        self._seconds = 0.0  # of audio received since
        self._bytes_per_second = 1

    def audio_began(self) -> None:
        """Count a new request's audio from now."""
        self._began = self._loop.time()
        self._seconds = 0.0

    def set_rate(self, bytes_per_second: int) -> None:
        """Count the audio that follows at ``bytes_per_second`` (its format's)."""
        self._bytes_per_second = bytes_per_second

    def count(self, audio_bytes: int) -> None:
        """Count ``audio_bytes`` of audio just received."""
        self._seconds += audio_bytes / self._bytes_per_second

    def read_timeout(self, *, busy: bool, streaming: bool) -> float:
        """Tell how long the next read may wait.

        ``busy``: a request is in progress; ``streaming``: its audio has begun.
        """
        settings = self._settings
        if not busy:
            return settings.idle_connection_seconds
        timeout = settings.request_idle_seconds
        if streaming and settings.min_audio_rate > 0:
            timeout = min(timeout, self._slow_deadline - self._loop.time())
        return max(timeout, 0.0)

    def too_slow(self) -> bool:
        """Tell whether the audio so far fell below --min-audio-rate x real time."""
        return self._settings.min_audio_rate > 0 and self._loop.time() >= self._slow_deadline

    def describe_slow(self) -> str:
        """Return the Error's text for a request whose audio is too slow."""
        elapsed = self._loop.time() - self._began
        rate = self._settings.min_audio_rate
        return (
            f"Audio arrived too slowly: {self._seconds:.1f} s of audio in {elapsed:.1f} s, "
            f"less than {rate:g} x real time (--min-audio-rate)"
        )

    @property
    def _slow_deadline(self) -> float:
        """Tell when the audio so far falls below --min-audio-rate x real time."""
        settings = self._settings
        enough_until = self._seconds / settings.min_audio_rate
        return self._began + max(settings.slow_audio_grace_seconds, enough_until)
