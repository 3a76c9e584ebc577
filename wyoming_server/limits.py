"""Limits on what the key's owner pays for: concurrent Qwen sessions and daily audio.

One ``RequestGate`` per server, shared by all connections. A request is admitted (it gets a
``Ticket``) before its Qwen session opens, or refused at once with a Wyoming error code --
unless a fallback answers it instead: the limits protect Qwen, not the local engine.
"""

from __future__ import annotations

from qwen_asr_realtime import QwenError

from .audio_budget import AudioBudget

DEFAULT_MAX_SESSIONS = 8


class Refusal(QwenError):
    """A request the gate does not admit: the Wyoming Error's ``code`` and ``text``.

    A QwenError, so that when a fallback stands in for the refused request and fails, the
    client gets the refusal the way it would get a failure of Qwen.
    """

    def __init__(self, code: str, text: str, *, reason: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.reason = reason  # for the log: why Qwen is not asked


def budget_refusal(budget: AudioBudget) -> Refusal:
    """Return the refusal of a request beyond the daily budget."""
    return Refusal(
        "budget-exceeded",
        budget.refusal(),
        reason="the daily audio budget is used up (--daily-audio-minutes)",
    )


class Ticket:
    """One admitted request: holds a session slot until ``release``.

    An ``AudioQuota``: counts the audio its session writes against the daily budget as it
    is written.
    """

    def __init__(self, gate: RequestGate) -> None:
        self._gate: RequestGate | None = gate
        self._budget = gate.budget
        self._spent = 0.0

    def allows(self) -> bool:
        """Tell whether another append may go upstream: the budget is not used up yet.

        The append that reaches it is the one overrun.
        """
        return self._budget is None or not self._budget.exhausted

    def spent(self, seconds: float) -> None:
        """Count audio just written upstream."""
        self._spent += seconds
        if self._budget is not None:
            self._budget.count(seconds)

    def refusal(self) -> Refusal:
        """Return what a request that reached the budget answers after its transcript."""
        assert self._budget is not None
        return budget_refusal(self._budget)

    async def release(self) -> None:
        """Free the slot and save the budget's count; safe to call repeatedly."""
        gate, self._gate = self._gate, None
        if gate is not None:
            await gate._release(self._spent)


class RequestGate:
    """Admits a request when a session slot is free and the daily budget is not used up."""

    def __init__(self, max_sessions: int | None, budget: AudioBudget | None = None) -> None:
        self.max_sessions = max_sessions
        self.budget = budget
        self.open_sessions = 0

    @property
    def budget_used_up(self) -> bool:
        return self.budget is not None and self.budget.exhausted

    def admit(self) -> Ticket | Refusal:
        if self.budget is not None and self.budget.exhausted:
            return budget_refusal(self.budget)
        if self.max_sessions is not None and self.open_sessions >= self.max_sessions:
            return Refusal(
                "busy",
                f"The server is busy: {self.open_sessions} requests are in progress "
                f"(--max-sessions {self.max_sessions}); try again shortly",
                reason=f"all {self.max_sessions} Qwen sessions are in use (--max-sessions)",
            )
        self.open_sessions += 1
        return Ticket(self)

    async def _release(self, audio_seconds_sent: float) -> None:
        self.open_sessions -= 1
        if self.budget is not None and audio_seconds_sent > 0:
            await self.budget.save()  # counted as written (Ticket.spent)
