"""Typed server events, the parser that builds them from JSON, and joining transcripts."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .const import EventType
from .errors import ProtocolError


@dataclass(frozen=True, slots=True)
class SessionCreated:
    """``session.created``: the service opened the session under ``session_id``."""

    session_id: str


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """``session.updated``: the service took the configuration it echoes in ``session``."""

    session: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Server VAD detected the start of speech for item ``item_id``."""

    item_id: str
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Server VAD detected the end of speech for item ``item_id``."""

    item_id: str
    audio_end_ms: int


@dataclass(frozen=True, slots=True)
class Committed:
    """The audio buffer was committed as item ``item_id`` (by the client or the VAD)."""

    item_id: str
    previous_item_id: str | None


@dataclass(frozen=True, slots=True)
class Partial:
    """A snapshot of the utterance so far: ``text`` is stable, ``stash`` may still change."""

    item_id: str
    text: str
    stash: str
    language: str | None
    emotion: str | None

    @property
    def preview(self) -> str:
        """Return the utterance as shown so far: the stable text, then the stash."""
        return self.text + self.stash


@dataclass(frozen=True, slots=True)
class Final:
    """The final transcript of item ``item_id``."""

    item_id: str
    transcript: str
    language: str | None
    emotion: str | None


@dataclass(frozen=True, slots=True)
class ItemFailed:
    """The service could not transcribe item ``item_id`` (the session goes on)."""

    item_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """An ``error`` event: the service refused a request (it ends the session)."""

    code: str
    message: str
    error_type: str
    param: str | None
    client_event_id: str | None


@dataclass(frozen=True, slots=True)
class Finished:
    """``session.finished``: every final transcript has been sent."""


Event = (
    SessionCreated
    | SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | Committed
    | Partial
    | Final
    | ItemFailed
    | ErrorEvent
    | Finished
)


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"Event {data.get('type')!r} has no string field {key!r}")
    return value


def _text(data: dict[str, Any], key: str) -> str:
    """Return an optional text field: missing or null is empty, a non-string is an error."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolError(f"Event {data.get('type')!r} has a non-string field {key!r}")
    return value


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def _int(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)  # json.loads accepts NaN and Infinity
    ):
        raise ProtocolError(f"Event {data.get('type')!r} has no number field {key!r}")
    return int(value)


def _obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProtocolError(f"Event {data.get('type')!r} has no object field {key!r}")
    return value


def parse_event(data: Any) -> Event | None:
    """Build a typed event; None for event types this client does not use.

    Raises ProtocolError when a known event lacks a field the protocol requires.
    """
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("Server message is not an event object with a type")
    kind = data["type"]
    if kind == EventType.PARTIAL:
        return Partial(
            _str(data, "item_id"),
            _text(data, "text"),
            _text(data, "stash"),
            _opt_str(data, "language"),
            _opt_str(data, "emotion"),
        )
    if kind == EventType.COMPLETED:
        return Final(
            _str(data, "item_id"),
            _text(data, "transcript"),
            _opt_str(data, "language"),
            _opt_str(data, "emotion"),
        )
    if kind == EventType.SPEECH_STARTED:
        return SpeechStarted(_str(data, "item_id"), _int(data, "audio_start_ms"))
    if kind == EventType.SPEECH_STOPPED:
        return SpeechStopped(_str(data, "item_id"), _int(data, "audio_end_ms"))
    if kind == EventType.COMMITTED:
        return Committed(_str(data, "item_id"), _opt_str(data, "previous_item_id"))
    if kind == EventType.SESSION_CREATED:
        return SessionCreated(_str(_obj(data, "session"), "id"))
    if kind == EventType.SESSION_UPDATED:
        return SessionUpdated(_obj(data, "session"))
    if kind == EventType.SESSION_FINISHED:
        return Finished()
    if kind == EventType.ERROR:
        error = _obj(data, "error")
        return ErrorEvent(
            str(error.get("code") or ""),
            str(error.get("message") or ""),
            str(error.get("type") or ""),
            _opt_str(error, "param"),
            _opt_str(error, "event_id"),
        )
    if kind == EventType.FAILED:
        failure = data.get("error")
        details: dict[str, Any] = failure if isinstance(failure, dict) else {}
        return ItemFailed(
            _str(data, "item_id"),
            str(details.get("code") or ""),
            str(details.get("message") or "transcription failed"),
        )
    return None


def join_transcripts(parts: Iterable[str]) -> str:
    """Join utterances: no separator between CJK texts, a space between others."""
    text = ""
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        if text and not (_is_cjk(text[-1]) and _is_cjk(part[0])):
            text += " "
        text += part
    return text


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
    )
