"""Context echo: the service may answer silence with the session's own context text.

When the audio holds no speech, Qwen can return the context (``corpus.text``) as the
transcript; a public client filters finals equal to its vocabulary. Here a final that
repeats the context, for an utterance in which no speech was detected, becomes an
empty transcript, and the partials leading up to it are withheld.

"No speech detected": with server VAD, the service never sent ``speech_started`` for
the item. Manual mode has no such signal, so there an exact repeat of the whole context
is enough.
"""

from __future__ import annotations

import dataclasses
import logging
import re

from .events import Final, Partial

_LOGGER = logging.getLogger(__name__)

# Everything but letters and digits (of any script): spacing, line breaks, punctuation.
_NOT_WORD = re.compile(r"[\W_]+")


def _normalize(text: str) -> str:
    """Compare text by its letters and digits only (CJK transcripts have no spaces)."""
    return _NOT_WORD.sub("", text).casefold()


class ContextEchoFilter:
    """Tracks where speech was detected and blanks finals that only echo the context."""

    def __init__(self, context: str, *, manual: bool) -> None:
        """Filter echoes of ``context``; in ``manual`` mode no speech is ever detected."""
        self._context = _normalize(context)
        self.manual = manual  # set when a recording goes in manual mode
        self._spoken: set[str] = set()

    def speech_started(self, item_id: str) -> None:
        """Note that the service detected speech in item ``item_id``."""
        self._spoken.add(item_id)

    def _speechless(self, item_id: str) -> bool:
        return self.manual or item_id not in self._spoken

    def final(self, event: Final) -> Final:
        """Return the final, with an empty transcript if it is an echo of the context."""
        if not self._context or not self._speechless(event.item_id):
            return event
        if _normalize(event.transcript) != self._context:
            return event
        _LOGGER.debug("Dropping a final that repeats the context (no speech was detected)")
        return dataclasses.replace(event, transcript="")

    def withholds(self, event: Partial) -> bool:
        """Tell whether a partial is (the start of) a context echo and must not be shown."""
        if not self._context or not self._speechless(event.item_id):
            return False
        preview = _normalize(event.preview)
        return bool(preview) and self._context.startswith(preview)
