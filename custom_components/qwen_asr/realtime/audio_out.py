"""Outgoing audio: small pieces joined into appends, and backlogs paced in VAD mode.

Home Assistant hands a speech-to-text engine 10 ms pieces; one ``append`` per piece is 100
WebSocket messages a second per stream, each a JSON envelope, a base64 encoding and a system
call. Qwen's own samples send 100 ms every 100 ms. The client therefore joins pieces until
an append holds ``coalesce_ms`` of audio; conversion and base64 happen once per append.
Pending audio is sent at once when the session becomes ready and before ``commit`` and
``session.finish`` (the end of speech never waits for a timer); a timer only bounds the wait
of a source that stops sending without ending the session.

A backlog (audio held while connecting, or a client sending a file faster than real time)
is sent at once up to ``max_ahead_ms`` ahead of real time and then at real time, in VAD
mode only: a third-party client reported that Qwen's server VAD missed segments when a large
backlog arrived far faster than real time, and Qwen's samples send at real time. A whole
recording (its end in hand before the session is configured) is not paced: it goes in
manual mode (recording.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .errors import ConfigError

DEFAULT_COALESCE_MS = 100
# Covers the audio held while a far region connects (a TLS connection across continents and
# the session set-up take up to about a second), so live streams are never delayed.
DEFAULT_MAX_AHEAD_MS = 2000
# Audio queued for the socket and not yet written, at most (converted, at the session's rate):
# a caller of ``send_audio`` that is further ahead waits, so a fast source is slowed down to
# what the service takes instead of filling memory (pacing alone only delays the writes).
DEFAULT_MAX_BUFFERED_MS = 5000
MAX_COALESCE_MS = 1000
# VAD mode with pacing: larger pieces (a whole file appended at once) are split into appends
# of at most this much audio, so that they can be paced.
PACED_APPEND_MS = 1000
# A source that stops sending (without ending the session) has its pending audio sent after
# this many coalescing windows; a live source fills an append long before.
STALL_WINDOWS = 2


@dataclass(frozen=True, slots=True)
class AudioOptions:
    """How the client sends audio to the service."""

    # Target duration of one append; 0 sends one append per piece, as given.
    coalesce_ms: int = DEFAULT_COALESCE_MS
    # VAD mode: how far the audio sent may run ahead of real time; None: no pacing.
    max_ahead_ms: int | None = DEFAULT_MAX_AHEAD_MS
    # VAD mode: a whole recording in hand before the session is configured goes in manual
    # mode, committed at its silences (recording.py); False: VAD mode, paced.
    recordings_manual: bool = True
    # Audio queued and not yet written beyond which ``send_audio`` waits for room.
    max_buffered_ms: int = DEFAULT_MAX_BUFFERED_MS

    def validate(self) -> None:
        """Raise ConfigError for an option out of its range."""
        if not 0 <= self.coalesce_ms <= MAX_COALESCE_MS:
            raise ConfigError(f"coalesce_ms must be 0 to {MAX_COALESCE_MS}, not {self.coalesce_ms}")
        if self.max_ahead_ms is not None and self.max_ahead_ms < 0:
            raise ConfigError(f"max_ahead_ms must not be negative, not {self.max_ahead_ms}")
        if self.max_buffered_ms <= 0:
            raise ConfigError(f"max_buffered_ms must be positive, not {self.max_buffered_ms}")


class AudioQuota(Protocol):
    """How much audio a session may still write (a budget it may share with others)."""

    def allows(self) -> bool:
        """Tell whether the next append may be written (asked before each one)."""

    def spent(self, seconds: float) -> None:
        """Count ``seconds`` of audio just written to the socket."""


class AudioConverter(Protocol):
    """Turns audio of one input format into the session's PCM16 mono, keeping its state."""

    @property
    def input_bytes_per_second(self) -> int:
        """Return the bytes per second of the input format."""

    def convert(self, audio: bytes) -> bytes:
        """Return ``audio`` (input format) as the session's PCM16 mono."""


class AudioCoalescer:
    """Joins pieces until they hold ``coalesce_ms`` of input audio, then converts them once.

    ``on_stall`` is called (from the event loop) when pending audio has waited
    ``STALL_WINDOWS`` windows without filling an append.
    """

    def __init__(
        self,
        coalesce_ms: int,
        input_bytes_per_second: int,
        on_stall: Callable[[], None],
        converter: AudioConverter | None = None,
    ) -> None:
        """Join input of ``input_bytes_per_second`` (or the converter's) into appends."""
        self._window_seconds = coalesce_ms / 1000
        self._on_stall = on_stall
        self._pending = bytearray()
        self._stall_timer: asyncio.TimerHandle | None = None
        self.converter = converter
        self._target = self._target_bytes(input_bytes_per_second)

    def _target_bytes(self, bytes_per_second: int) -> int:
        if self.converter is not None:
            bytes_per_second = self.converter.input_bytes_per_second
        return int(bytes_per_second * self._window_seconds)

    def set_converter(self, converter: AudioConverter | None, bytes_per_second: int) -> bytes:
        """Switch the input format; returns the audio pending in the former one, converted."""
        pending = self.take()
        self.converter = converter
        self._target = self._target_bytes(bytes_per_second)
        return pending

    def add(self, piece: bytes) -> bytes | None:
        """Return a full append's audio (converted), or None while it is still filling."""
        if not self._pending:
            if len(piece) >= self._target:  # no copy for pieces as large as an append
                return self._convert(piece)
            if self._window_seconds and piece:
                self._arm_stall_timer()
        self._pending += piece
        if len(self._pending) < self._target:
            return None
        return self.take()

    def _arm_stall_timer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # appended outside the event loop: the session end flushes it
            return
        self._stall_timer = loop.call_later(self._window_seconds * STALL_WINDOWS, self._on_stall)

    def take(self) -> bytes:
        """Return everything pending, converted (b"" if nothing is)."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if not self._pending:
            return b""
        audio = bytes(self._pending)
        self._pending.clear()
        return self._convert(audio)

    def _convert(self, audio: bytes) -> bytes:
        return audio if self.converter is None else self.converter.convert(audio)

    def close(self) -> None:
        """Cancel the stall timer (the session is over)."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None


class BacklogPacer:
    """Keeps the audio sent at most ``max_ahead_seconds`` ahead of real time.

    Real time starts with the first audio sent; ``max_ahead_seconds=None`` never waits.
    """

    def __init__(self, max_ahead_seconds: float | None) -> None:
        """Pace at most ``max_ahead_seconds`` ahead of real time (None: never wait)."""
        self.max_ahead_seconds = max_ahead_seconds
        self._start: float | None = None
        self._sent_seconds = 0.0

    def delay(self, audio_seconds: float) -> float:
        """Return the seconds to wait before sending ``audio_seconds`` more seconds of audio."""
        if self.max_ahead_seconds is None or self._start is None:
            return 0.0
        ahead = self._sent_seconds + audio_seconds - (time.monotonic() - self._start)
        return max(0.0, ahead - self.max_ahead_seconds)

    def sent(self, audio_seconds: float) -> None:
        """Count ``audio_seconds`` seconds of audio sent (the first starts real time)."""
        if self._start is None:
            self._start = time.monotonic()
        self._sent_seconds += audio_seconds
