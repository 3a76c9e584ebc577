"""What the handler knows of a transcription request, whichever kind answers it.

Two kinds implement ``Request``: ``request.TranscriptionRequest`` (one Qwen session) and,
with ``--fallback-uri``, ``fallback_request.FallbackRequest`` (Qwen first, the fallback
service when Qwen fails). This module imports nothing of the project at run time, so both
kinds and the handler depend on it without a chain through either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias

from wyoming.event import Event

if TYPE_CHECKING:
    from qwen_asr_realtime import QwenError

    from .audio import PcmFormat
    from .limits import Refusal

Emit: TypeAlias = Callable[[Event], Awaitable[None]]
# What the client is told when a request fails: Qwen's error, or the gate's refusal that a
# fallback stood in for and could not answer either.
Failure: TypeAlias = "QwenError | Refusal"
OnFailure: TypeAlias = Callable[["Failure"], Awaitable[None]]


class Request(Protocol):
    """One Wyoming transcription request: the client's audio in, Wyoming events out.

    Results go out through the ``emit`` it was made with; a failure is raised as
    ``QwenError`` by ``feed``/``finish`` or, when it happens in the background, reported
    through its ``on_failure``.
    """

    @property
    def answered(self) -> bool:
        """Tell whether the transcript went out (the rest of the audio is ignored)."""

    def start(self) -> None:
        """Open the upstream session now; audio fed meanwhile waits until it is ready."""

    def set_format(self, audio_format: PcmFormat) -> None:
        """Take the client's audio in ``audio_format`` from now on.

        Raise AudioFormatError for a format that is not PCM.
        """

    async def feed(self, audio: bytes) -> None:
        """Send one chunk of audio (in the format last set) on."""

    async def finish(self) -> None:
        """End the audio and write the answer."""

    async def answer_recognized(self, why: str) -> bool:
        """Answer with the words recognized so far, if any; tell whether it did."""

    async def close(self) -> None:
        """Release the upstream session and background tasks; safe to call repeatedly."""
