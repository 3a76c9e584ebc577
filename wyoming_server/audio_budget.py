"""``--daily-audio-minutes``: audio streamed to Qwen per UTC day, kept in a small JSON file.

What counts is the audio the client actually wrote to Qwen's socket (``audio_bytes_sent``),
counted as each append is written (``count``), not what a Wyoming client sent or what was
queued: audio ignored after an early answer or dropped at the budget costs nothing. The
count is in memory at once (so a request in progress meets the limit) and written to the
file after each request (``save``). The file is replaced atomically (temporary file, fsync,
rename), so a crash leaves the old or the new count, never half a file; a missing or
unreadable file starts a new count and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

STATE_FILE_NAME = "audio-usage.json"
_APP_DIR = "wyoming-qwen-asr"


def default_state_file() -> Path:
    """Return the usage file in $STATE_DIRECTORY (systemd), $XDG_STATE_HOME or ~/.local/state."""
    systemd = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    if systemd:
        return Path(systemd) / STATE_FILE_NAME
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / _APP_DIR / STATE_FILE_NAME


def utc_today() -> date:
    """Return today's date in UTC, the day the budget counts."""
    return datetime.now(UTC).date()


def read_usage(path: Path, today: date) -> float | None:
    """Return the seconds counted for ``today`` in the file; None if it is missing or unreadable."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        day, seconds = state["day"], float(state["audio_seconds"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(day, str) or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds if day == today.isoformat() else 0.0


class AudioBudget:
    """Today's (UTC) audio seconds against a daily limit; persisted after each request."""

    def __init__(
        self,
        path: Path,
        daily_seconds: float,
        *,
        today: Callable[[], date] = utc_today,
    ) -> None:
        """Count against ``daily_seconds`` a day, kept in ``path``; ``today`` gives the day (tests).

        The count already in ``path`` for today is loaded; a missing or unreadable file starts at 0.
        """
        self.path = path
        self.daily_seconds = daily_seconds
        self._today = today
        self._day = today()
        self._used = self._load()
        self._lock = asyncio.Lock()

    def _load(self) -> float:
        if not self.path.exists():
            _LOGGER.info("No audio usage file at %s: starting a new daily count", self.path)
            return 0.0
        used = read_usage(self.path, self._day)
        if used is None:
            _LOGGER.warning(
                "Audio usage file %s is unreadable: starting a new daily count", self.path
            )
            return 0.0
        _LOGGER.info(
            "Audio sent to Qwen today (UTC): %.1f of %.1f minutes",
            used / 60,
            self.daily_seconds / 60,
        )
        return used

    @property
    def used_seconds(self) -> float:
        """Seconds of audio sent to Qwen today (UTC)."""
        self._roll_over()
        return self._used

    @property
    def exhausted(self) -> bool:
        """Whether today's audio has reached the daily limit."""
        return self.used_seconds >= self.daily_seconds

    def refusal(self) -> str:
        """Return the message refusing a request once the budget is used up."""
        # In seconds: a small budget in minutes would read "0.0 of 0.01 minutes".
        return (
            f"The daily audio budget is used up ({self.used_seconds:.1f} of "
            f"{self.daily_seconds:g} seconds sent to Qwen today, UTC; --daily-audio-minutes "
            f"{self.daily_seconds / 60:g}); it starts again at midnight UTC"
        )

    def count(self, seconds: float) -> None:
        """Count audio just written upstream (in memory; ``save`` writes the file)."""
        self._roll_over()
        self._used += seconds

    async def add(self, seconds: float) -> None:
        """Count audio sent upstream and write the file."""
        if seconds > 0:
            self.count(seconds)
            await self.save()

    async def save(self) -> None:
        """Write today's count to the file (in a thread: fsync may be slow)."""
        self._roll_over()
        async with self._lock:  # writes in order; the latest count always wins
            day, used = self._day, self._used
            try:
                await asyncio.to_thread(write_usage, self.path, day, used)
            except OSError as err:
                _LOGGER.warning("Cannot write the audio usage file %s: %s", self.path, err)

    def _roll_over(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._used = today, 0.0


def write_usage(path: Path, day: date, seconds: float) -> None:
    """Replace the file atomically: a temporary file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"day": day.isoformat(), "audio_seconds": round(seconds, 3)})
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
