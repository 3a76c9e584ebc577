"""Pluggable speech recognition: the protocol and a deterministic scripted implementation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .pcm import duration_ms


class UtteranceRecognizer(Protocol):
    """Recognizes one utterance; created per item with the session's sample rate."""

    def feed(self, pcm: bytes) -> None:
        """Add PCM16 mono audio of this utterance."""

    def partial(self) -> str:
        """Return the current hypothesis for the audio fed so far ("" if none yet)."""

    def final(self) -> str:
        """Return the final transcript; called once, after the last ``feed``."""


class RecognizerFactory(Protocol):
    """Makes an UtteranceRecognizer for each item of a session (the emulator's recognizer)."""

    def __call__(
        self, *, sample_rate: int, utterance_index: int, session_id: str
    ) -> UtteranceRecognizer:
        """Create the recognizer for item number ``utterance_index`` (1-based) of a session."""


class _ScriptedUtterance:
    def __init__(
        self, *, script: str | None, sample_rate: int, index: int, ms_per_word: int
    ) -> None:
        self._script = script
        self._sample_rate = sample_rate
        self._index = index
        self._ms_per_word = ms_per_word
        self._bytes = 0

    def _audio_ms(self) -> float:
        return duration_ms(self._bytes, self._sample_rate)

    def _placeholder(self) -> str:
        return f"utterance {self._index} of {self._audio_ms() / 1000:.1f} seconds"

    def feed(self, pcm: bytes) -> None:
        self._bytes += len(pcm)

    def partial(self) -> str:
        if self._script is None:
            return self._placeholder()
        words = self._script.split()
        shown = min(len(words), int(self._audio_ms() // self._ms_per_word))
        return " ".join(words[:shown])

    def final(self) -> str:
        return self._placeholder() if self._script is None else self._script


class ScriptedRecognizer:
    """Deterministic transcripts for tests.

    Item k of every session gets ``transcripts[k - 1]``; once the script is exhausted a
    placeholder derived from the audio is used, e.g. "utterance 3 of 1.3 seconds".
    Partials reveal one more word of the script per ``ms_per_word`` of audio.
    ``transcripts`` may be replaced at runtime; it is read when an item starts.
    """

    def __init__(self, transcripts: Iterable[str] = (), *, ms_per_word: int = 300) -> None:
        """Answer item k with ``transcripts[k - 1]``; reveal a word per ``ms_per_word`` of audio."""
        self.transcripts = list(transcripts)
        self.ms_per_word = ms_per_word

    def __call__(
        self, *, sample_rate: int, utterance_index: int, session_id: str
    ) -> UtteranceRecognizer:
        """Return the recognizer of item ``utterance_index`` (1-based), scripted or placeholder."""
        script = (
            self.transcripts[utterance_index - 1]
            if utterance_index <= len(self.transcripts)
            else None
        )
        return _ScriptedUtterance(
            script=script,
            sample_rate=sample_rate,
            index=utterance_index,
            ms_per_word=self.ms_per_word,
        )
