"""Limits on what the key's owner pays for: concurrent Qwen sessions and daily audio.

One ``RequestGate`` per server, shared by all connections. A request is admitted (it gets a
``Ticket``) before its Qwen session opens, or refused at once with a Wyoming error code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .audio_budget import AudioBudget

_LOGGER = logging.getLogger(__name__)

DEFAULT_MAX_SESSIONS = 8


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str  # the Wyoming Error's code
    text: str


class Ticket:
    """One admitted request: holds a session slot until ``release``."""

    def __init__(self, gate: RequestGate) -> None:
        self._gate: RequestGate | None = gate

    async def release(self, audio_seconds_sent: float) -> None:
        """Free the slot and count the audio that went upstream; safe to call repeatedly."""
        gate, self._gate = self._gate, None
        if gate is not None:
            await gate._release(audio_seconds_sent)


class RequestGate:
    """Admits a request when a session slot is free and the daily budget is not used up."""

    def __init__(self, max_sessions: int | None, budget: AudioBudget | None = None) -> None:
        self.max_sessions = max_sessions
        self.budget = budget
        self.open_sessions = 0

    def admit(self) -> Ticket | Refusal:
        if self.budget is not None and self.budget.exhausted:
            refusal = Refusal("budget-exceeded", self.budget.refusal())
        elif self.max_sessions is not None and self.open_sessions >= self.max_sessions:
            refusal = Refusal(
                "busy",
                f"The server is busy: {self.open_sessions} requests are in progress "
                f"(--max-sessions {self.max_sessions}); try again shortly",
            )
        else:
            self.open_sessions += 1
            return Ticket(self)
        _LOGGER.warning("Refusing a request: %s", refusal.text)
        return refusal

    async def _release(self, audio_seconds_sent: float) -> None:
        self.open_sessions -= 1
        if self.budget is not None:
            await self.budget.add(audio_seconds_sent)
