"""Limits on what the key's owner pays for: concurrent Qwen sessions and daily audio.

One ``RequestGate`` per server, shared by all connections. A request is admitted (it gets a
``Ticket``) before its Qwen session opens, or refused at once with a Wyoming error code --
unless a fallback answers it instead: the limits protect Qwen, not the local engine.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from .audio_budget import AudioBudget

DEFAULT_MAX_SESSIONS = 8
# Fairness defaults a household never meets: Home Assistant opens one connection per request
# and per Describe and closes it after the answer.
DEFAULT_MAX_CONNECTIONS = 128  # well below the usual 1024 open files, and a Pi's memory
DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 32
DEFAULT_IDLE_CONNECTION_SECONDS = 60.0
DEFAULT_MAX_SESSIONS_PER_MINUTE = 20  # per client address; a voice request takes seconds
DEFAULT_MIN_AUDIO_RATE = 0.5  # of real time; a live stream arrives at 1.0
DEFAULT_SLOW_AUDIO_GRACE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the gate does not admit: the Wyoming Error's ``code`` and ``text``.

    A value, not an exception: the caller reports it, or a fallback answers in its place
    (and when the fallback fails, the client gets this refusal's code and text).
    """

    code: str
    text: str
    reason: str  # for the log: why Qwen is not asked


def budget_refusal(budget: AudioBudget) -> Refusal:
    """Return the refusal of a request beyond the daily budget."""
    return Refusal(
        "budget-exceeded",
        budget.refusal(),
        reason="the daily audio budget is used up (--daily-audio-minutes)",
    )


class Ticket:
    """One admitted request: holds a session slot until ``free_slot`` or ``release``.

    An ``AudioQuota``: counts the audio its session writes against the daily budget as it
    is written.
    """

    def __init__(self, gate: RequestGate, client: str | None) -> None:
        """Hold a slot of ``gate`` for ``client``."""
        self._gate: RequestGate | None = gate
        self._slot_gate: RequestGate | None = gate
        self._client = client
        self._budget = gate.budget
        self._spent = 0.0

    def free_slot(self) -> None:
        """Give the session slot back (the request is answered); safe to call repeatedly.

        Called when the answer goes out, not after Qwen's close handshake: the client may
        send its next request the moment it reads the transcript.
        """
        gate, self._slot_gate = self._slot_gate, None
        if gate is not None:
            gate._free_slot(self._client)

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
        self.free_slot()
        gate, self._gate = self._gate, None
        if gate is not None:
            await gate._save(self._spent)


class OpeningRate:
    """At most ``per_minute`` Qwen sessions opened per client address in any 60 s.

    A sliding window of opening times per address, each bounded by ``per_minute``; the
    addresses remembered are bounded too (beyond, they share one window).
    """

    WINDOW_SECONDS = 60.0
    _MAX_CLIENTS = 1024
    _OVERFLOW = "*"

    def __init__(self, per_minute: int) -> None:
        """Allow ``per_minute`` openings per address in any 60 s."""
        self.per_minute = per_minute
        self._opened: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        """Tell whether ``client`` may open a session now; if so, count it."""
        now = time.monotonic()
        window = self._window(client, now)
        while window and now - window[0] >= self.WINDOW_SECONDS:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True

    def _window(self, client: str, now: float) -> deque[float]:
        window = self._opened.get(client)
        if window is not None:
            return window
        if len(self._opened) >= self._MAX_CLIENTS:
            self._opened = {
                key: times
                for key, times in self._opened.items()
                if times and now - times[-1] < self.WINDOW_SECONDS
            }
            if len(self._opened) >= self._MAX_CLIENTS:
                client = self._OVERFLOW
        return self._opened.setdefault(client, deque(maxlen=self.per_minute))


def default_sessions_per_client(max_sessions: int | None) -> int | None:
    """Return half of ``--max-sessions``, rounded up: the default share of one address.

    One address (a second device on the LAN, or Home Assistant itself, which sends every
    satellite's requests) cannot hold every slot, and Home Assistant keeps 4 of the default
    8 however another device behaves. With ``--max-sessions 1`` the one slot is shared.
    """
    return None if max_sessions is None else (max_sessions + 1) // 2


class RequestGate:
    """Admits a request when a session slot is free and the daily budget is not used up."""

    def __init__(
        self,
        max_sessions: int | None,
        budget: AudioBudget | None = None,
        *,
        per_client: int | None = None,
        openings: OpeningRate | None = None,
    ) -> None:
        """Admit up to ``max_sessions`` at once, ``per_client`` of them from one address."""
        self.max_sessions = max_sessions
        self.budget = budget
        self.per_client = per_client
        self.openings = openings
        self.open_sessions = 0
        # Slots held per client address (only addresses holding one: bounded by the slots).
        self._held: dict[str | None, int] = {}

    @property
    def budget_used_up(self) -> bool:
        """Tell whether the daily audio budget is used up (--daily-audio-minutes)."""
        return self.budget is not None and self.budget.exhausted

    def admit(self, client: str | None = None) -> Ticket | Refusal:
        """Admit a request from ``client`` (None: no address, unix or stdio), or refuse it."""
        if self.budget is not None and self.budget.exhausted:
            return budget_refusal(self.budget)
        if self.max_sessions is not None and self.open_sessions >= self.max_sessions:
            return Refusal(
                "busy",
                f"The server is busy: {self.open_sessions} requests are in progress "
                f"(--max-sessions {self.max_sessions}); try again shortly",
                reason=f"all {self.max_sessions} Qwen sessions are in use (--max-sessions)",
            )
        if client is not None and self.per_client is not None:
            held = self._held.get(client, 0)
            if held >= self.per_client:
                return Refusal(
                    "busy",
                    f"The server is busy: this client has {held} requests in progress "
                    f"(--max-sessions-per-client {self.per_client}); try again shortly",
                    reason=f"{client} holds {held} Qwen sessions (--max-sessions-per-client)",
                )
        if client is not None and self.openings is not None and not self.openings.allow(client):
            per_minute = self.openings.per_minute
            return Refusal(
                "rate-limited",
                f"Too many requests: this client opened {per_minute} in the last minute "
                f"(--max-sessions-per-minute {per_minute}); try again shortly",
                reason=f"{client} opened {per_minute} Qwen sessions in a minute "
                "(--max-sessions-per-minute)",
            )
        self.open_sessions += 1
        self._held[client] = self._held.get(client, 0) + 1
        return Ticket(self, client)

    def _free_slot(self, client: str | None) -> None:
        self.open_sessions -= 1
        held = self._held.get(client, 0) - 1
        if held > 0:
            self._held[client] = held
        else:
            self._held.pop(client, None)

    async def _save(self, audio_seconds_sent: float) -> None:
        if self.budget is not None and audio_seconds_sent > 0:
            await self.budget.save()  # counted as written (Ticket.spent)
