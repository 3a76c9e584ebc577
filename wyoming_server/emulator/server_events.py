"""Builders for server -> client events (shapes from the protocol reference, section 4)."""

from __future__ import annotations

from typing import Any

from qwen_asr_realtime import EventType

from .ids import new_event_id


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """Return a server event of type ``kind`` with a new event id and ``fields``."""
    return {"event_id": new_event_id(), "type": kind, **fields}


def error(
    *,
    code: str,
    message: str,
    param: str | None = None,
    client_event_id: str | None = None,
    error_type: str = "invalid_request_error",
) -> dict[str, Any]:
    """Return an ``error`` event; ``client_event_id`` names the client event it answers."""
    return event(
        EventType.ERROR,
        error={
            "type": error_type,
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event_id,
        },
    )


def item_created(item_id: str, previous_item_id: str | None) -> dict[str, Any]:
    """Return ``conversation.item.created`` for ``item_id``, chained to the previous item."""
    return event(
        EventType.ITEM_CREATED,
        previous_item_id=previous_item_id,
        item={
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        },
    )


def partial(item_id: str, *, text: str, stash: str, language: str, emotion: str) -> dict[str, Any]:
    """Return a partial transcription: the stable ``text`` and the tentative ``stash``."""
    return event(
        EventType.PARTIAL,
        item_id=item_id,
        content_index=0,
        language=language,
        emotion=emotion,
        text=text,
        stash=stash,
    )


def completed(item_id: str, *, transcript: str, language: str, emotion: str) -> dict[str, Any]:
    """Return the final transcription of ``item_id``."""
    return event(
        EventType.COMPLETED,
        item_id=item_id,
        content_index=0,
        language=language,
        emotion=emotion,
        transcript=transcript,
    )


def failed(item_id: str, *, code: str, message: str) -> dict[str, Any]:
    """Return the failed transcription of ``item_id`` with the service's error."""
    return event(
        EventType.FAILED,
        item_id=item_id,
        content_index=0,
        error={"type": "server_error", "code": code, "message": message, "param": None},
    )


def split_snapshot(
    hypothesis: str, *, frozen: str, tentative_words: int, stash_only: bool
) -> tuple[str, str] | None:
    """Split a hypothesis into (text, stash); None when it contradicts the text already frozen.

    ``text`` is the stable prefix and only grows within an item (the real service never revises
    ``text``); the last ``tentative_words`` words stay in ``stash``.
    """
    words = hypothesis.split()
    normalized = " ".join(words)
    if stash_only:
        return "", normalized
    stable = " ".join(words[: max(0, len(words) - tentative_words)])
    text = stable + " " if stable else ""
    if not text.startswith(frozen):
        if not normalized.startswith(frozen):
            return None
        text = frozen
    return text, normalized[len(text) :]
