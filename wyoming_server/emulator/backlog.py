"""Model of a server VAD that misses segments when a backlog arrives far faster than real time.

A third-party client reported that Qwen's server VAD missed segments when it sent a large
backlog much faster than real time, and it throttles to real time since (protocol reference
section 7.1, [3P]). How the service fails is not documented, so this is a model [INF]: the
VAD hears at most ``limit_ms`` of audio ahead of real time, counted from the session's first
append; audio arriving further ahead is lost (never analysed, so speech in it yields no
item). Off unless ``Behaviour.vad_backlog_limit_ms`` is set.
"""

from __future__ import annotations

from .pcm import duration_ms

_FRAME = 2  # PCM16 mono: never split a sample


class RealTimeBudget:
    """How much of each append a real-time VAD with a bounded backlog still hears."""

    def __init__(self, limit_ms: int) -> None:
        """Let the VAD lag real time by at most ``limit_ms``; ``lost_ms`` counts what it missed."""
        self.limit_ms = limit_ms
        self.lost_ms = 0.0
        self._start: float | None = None
        self._heard_ms = 0.0

    def admit(self, pcm: bytes, sample_rate: int, now: float) -> bytes:
        """Return the part of ``pcm`` the VAD hears at ``now`` (seconds); count the rest as lost."""
        if self._start is None:
            self._start = now
        budget_ms = (now - self._start) * 1000 + self.limit_ms - self._heard_ms
        total_ms = duration_ms(len(pcm), sample_rate)
        if total_ms <= budget_ms:
            self._heard_ms += total_ms
            return pcm
        keep = max(0, int(budget_ms * sample_rate / 1000)) * _FRAME
        heard = pcm[:keep]
        heard_ms = duration_ms(len(heard), sample_rate)
        self._heard_ms += heard_ms
        self.lost_ms += total_ms - heard_ms
        return heard
