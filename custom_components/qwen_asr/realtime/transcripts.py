"""Joining the final transcripts of a session's utterances into one text."""

from __future__ import annotations

from collections.abc import Iterable


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
