"""What the live service was observed doing, as data, and the same traits read from a trace.

``check`` reads each trait from what it saw (check_trace.py) and lists every one that
differs from ``OBSERVED``. The rows follow the project's protocol reference (the live
service as observed, with its evidence); a difference is information for a bug report,
not a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .check_trace import ConnectionTrace, Seen

PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"
SPEECH_STARTED = "input_audio_buffer.speech_started"
SPEECH_STOPPED = "input_audio_buffer.speech_stopped"
# Ids as the live service writes them: a prefix and 21 characters, "-" among them.
_ID = re.compile(r"^[A-Za-z]+_[A-Za-z0-9-]{21}$")
_SHORT_NAMES = (
    "conversation.item.input_audio_transcription.",
    "input_audio_buffer.",
    "conversation.",
)


@dataclass(frozen=True, slots=True)
class Expectation:
    """One trait of the live service, as observed."""

    key: str
    what: str
    observed: str
    evidence: str


OBSERVED: tuple[Expectation, ...] = (
    Expectation(
        "partial_style",
        "partials",
        "stash-only",
        "live log: text empty, the whole hypothesis in stash",
    ),
    Expectation("revised", "partials revised", "yes", "live log: 今天 → 今天。 → 今天天气"),
    Expectation(
        "partials_in_speech",
        "partials between speech_started and speech_stopped",
        "yes",
        "live log",
    ),
    Expectation(
        "vad_order",
        "VAD event order",
        "speech_started, speech_stopped, completed",
        "live log: no committed or item.created before completed",
    ),
    Expectation("ids", "ids", "prefix_ + 21 letters, digits or -", "live log"),
    Expectation(
        "turn_detection_echo",
        "session.updated echoes create_response, interrupt_response",
        "yes",
        "a third-party client quoting a response",
    ),
    Expectation(
        "language_emotion",
        "partials and finals carry language and emotion",
        "yes",
        "live log, documentation",
    ),
    Expectation(
        "closes_after_finished",
        "the service closes the socket after session.finished",
        "no",
        "live log; the SDK closes it itself",
    ),
)


def differences(seen: dict[str, str]) -> list[str]:
    """Return one line per trait seen that differs from the observed service."""
    return [
        f"{e.what}: {seen[e.key]} (observed: {e.observed}; {e.evidence})"
        for e in OBSERVED
        if e.key in seen and seen[e.key] != e.observed
    ]


def short_name(kind: str) -> str:
    """Return an event type without its namespace, e.g. ``speech_stopped``."""
    return next((kind[len(p) :] for p in _SHORT_NAMES if kind.startswith(p)), kind)


def _partials(traces: Sequence[ConnectionTrace]) -> list[Seen]:
    return [e for t in traces for e in t.received() if e.type == PARTIAL]


def partial_style(traces: Sequence[ConnectionTrace]) -> str | None:
    """Return how partials split a hypothesis: stash-only, text+stash, text-only or mixed."""
    kinds = set()
    for partial in _partials(traces):
        text, stash = partial.event.get("text") or "", partial.event.get("stash") or ""
        if text and stash:
            kinds.add("both")
        elif text or stash:
            kinds.add("text" if text else "stash")
    if not kinds:
        return None
    if "both" in kinds:
        return "text+stash"
    return {frozenset({"stash"}): "stash-only", frozenset({"text"}): "text-only"}.get(
        frozenset(kinds), "text or stash, never both"
    )


def revisions(traces: Sequence[ConnectionTrace]) -> int:
    """Count partials whose hypothesis is not the previous one extended (same item)."""
    last: dict[str, str] = {}
    count = 0
    for partial in _partials(traces):
        event = partial.event
        hypothesis = "".join(f"{event.get('text') or ''}{event.get('stash') or ''}".split())
        item = str(event.get("item_id"))
        if item in last and not hypothesis.startswith(last[item]):
            count += 1
        last[item] = hypothesis
    return count


def partials_in_speech(trace: ConnectionTrace) -> bool:
    """Say whether a partial came while the VAD heard speech."""
    speaking = False
    for event in trace.received():
        if event.type == SPEECH_STARTED:
            speaking = True
        elif event.type == SPEECH_STOPPED:
            speaking = False
        elif event.type == PARTIAL and speaking:
            return True
    return False


def vad_order(trace: ConnectionTrace) -> str | None:
    """Return the events of the first utterance, speech_started to completed, partials left out."""
    order: list[str] = []
    for event in trace.received():
        if event.type == SPEECH_STARTED or order:
            if event.type != PARTIAL:
                order.append(short_name(event.type))
            if event.type == COMPLETED:
                return ", ".join(order)
    return None


def ids(traces: Sequence[ConnectionTrace]) -> str | None:
    """Return the ids' shape: the observed one, or an example of another."""
    values = [value for t in traces for e in t.received() for value in _ids_of(e.event)]
    odd = next((value for value in values if not _ID.match(value)), None)
    if not values:
        return None
    return "prefix_ + 21 letters, digits or -" if odd is None else f"other, e.g. {odd}"


def _ids_of(event: dict[str, Any]) -> list[str]:
    session = event.get("session")
    found = [event.get("event_id"), event.get("item_id")]
    if event.get("type") == "session.created" and isinstance(session, dict):
        found.append(session.get("id"))
    return [value for value in found if isinstance(value, str) and value]


def turn_detection_echo(trace: ConnectionTrace) -> bool | None:
    """Say whether session.updated's turn_detection carries the response flags."""
    updated = trace.first("session.updated")
    if updated is None:
        return None
    session = updated.event.get("session")
    turn = session.get("turn_detection") if isinstance(session, dict) else None
    return isinstance(turn, dict) and {"create_response", "interrupt_response"} <= turn.keys()


def language_emotion(traces: Sequence[ConnectionTrace]) -> bool | None:
    """Say whether every partial and final carries language and emotion."""
    events = [e for t in traces for e in t.received() if e.type in (PARTIAL, COMPLETED)]
    if not events:
        return None
    return all("language" in e.event and "emotion" in e.event for e in events)


def yes_no(value: bool | None) -> str | None:
    """Return "yes", "no" or None."""
    return None if value is None else ("yes" if value else "no")


def traits(
    vad: Sequence[ConnectionTrace], manual: Sequence[ConnectionTrace], closes: bool | None
) -> dict[str, str]:
    """Return every trait of OBSERVED read from the sessions; unmeasured ones are left out."""
    every = [*vad, *manual]
    first_vad = vad[0] if vad else None
    readers: dict[str, Callable[[], str | None]] = {
        "partial_style": lambda: partial_style(every),
        "revised": lambda: yes_no(revisions(every) > 0) if _partials(every) else None,
        "partials_in_speech": lambda: (
            yes_no(any(partials_in_speech(t) for t in vad)) if _partials(vad) else None
        ),
        "vad_order": lambda: vad_order(first_vad) if first_vad else None,
        "ids": lambda: ids(every),
        "turn_detection_echo": lambda: (
            yes_no(turn_detection_echo(first_vad)) if first_vad else None
        ),
        "language_emotion": lambda: yes_no(language_emotion(every)),
        "closes_after_finished": lambda: yes_no(closes),
    }
    found = {key: read() for key, read in readers.items()}
    return {key: value for key, value in found.items() if value is not None}
