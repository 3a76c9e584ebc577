"""Energy-based voice activity detection on PCM16 frames, in audio time (not wall time)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .pcm import dbfs


def threshold_to_dbfs(threshold: float, *, at_zero: float, per_unit: float) -> float:
    """Map the protocol's [-1, 1] sensitivity to an RMS level: higher = less sensitive.

    With the defaults 0.2 -> -41 dBFS and 0.0 -> -45 dBFS: clear speech (-30..-10 dBFS) is
    voiced, a quiet room or digital silence is not.
    """
    return at_zero + per_unit * threshold


@dataclass(frozen=True, slots=True)
class VadTransition:
    """Speech started or stopped, at ``ms`` into the session's audio."""

    kind: Literal["start", "stop"]
    ms: int  # start: first voiced sample; stop: end of the last voiced frame


class EnergyVad:
    """Detect speech in PCM16 frames by their energy.

    Speech starts after ``min_speech_ms`` of consecutive voiced frames and stops after
    ``silence_ms`` of unvoiced frames. Offsets count all audio the session has received.
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        threshold_dbfs: float,
        silence_ms: int,
        frame_ms: int,
        min_speech_ms: int,
    ) -> None:
        """Analyse ``frame_ms`` frames at ``sample_rate``; ``threshold_dbfs`` or more is voiced."""
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.frame_bytes = sample_rate * frame_ms // 1000 * 2
        self._threshold_dbfs = threshold_dbfs
        self._silence_ms = silence_ms
        self._onset_frames = max(1, math.ceil(min_speech_ms / frame_ms))
        self._position_ms = 0
        self._voiced_run = 0
        self._silence_run_ms = 0
        self._last_voiced_end_ms = 0
        self.in_speech = False

    @property
    def last_voiced_end_ms(self) -> int:
        """Where the last voiced frame ended, in ms of the session's audio."""
        return self._last_voiced_end_ms

    def offset_by(self, ms: int) -> None:
        """Account for audio that was not analysed (e.g. received before a mode switch)."""
        self._position_ms += ms

    def push(self, frame: bytes, *, force_silence: bool = False) -> VadTransition | None:
        """Analyse one frame; return the transition it completes, if any.

        ``force_silence`` counts the frame as unvoiced whatever its level.
        """
        start_ms = self._position_ms
        self._position_ms += self.frame_ms
        voiced = not force_silence and dbfs(frame) >= self._threshold_dbfs
        if voiced:
            self._voiced_run += 1
            self._silence_run_ms = 0
            self._last_voiced_end_ms = self._position_ms
            if not self.in_speech and self._voiced_run >= self._onset_frames:
                self.in_speech = True
                onset_ms = start_ms - (self._onset_frames - 1) * self.frame_ms
                return VadTransition("start", onset_ms)
            return None
        self._voiced_run = 0
        if self.in_speech:
            self._silence_run_ms += self.frame_ms
            if self._silence_run_ms >= self._silence_ms:
                return self.force_stop()
        return None

    def force_stop(self) -> VadTransition:
        """End the speech now; return the stop at the end of the last voiced frame."""
        self.in_speech = False
        self._silence_run_ms = 0
        return VadTransition("stop", self._last_voiced_end_ms)
