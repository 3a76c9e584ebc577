"""The part of revising partials that has stopped changing, for append-only live text.

Each ``.text`` partial is a snapshot of the whole utterance so far. The documentation says
``text`` is a frozen prefix and ``stash`` the tentative rest; the live service sends
``text: ""`` and the whole hypothesis in ``stash``, revising it between events (a new word
first as a fragment, a word corrected once the next one is heard, punctuation that comes and
goes). A display that replaces its text (Home Assistant's progress API) takes every snapshot
whole; an append-only consumer (Wyoming's ``TranscriptChunk``) may only take what will not be
revised, or it shows words the final transcript contradicts.

The rule: ``text`` is stable (the service promises it), and so is each leading word of the
hypothesis that is followed by another word and stood, the same, at the same place in the
previous partial. Why this rule: the service revises the newest word (it is still being
spoken) and the word before it once the next word gives it context; a word that has a
successor and survived one more snapshot unchanged has been through that revision. A time
window instead ("older than 500 ms") would depend on the partial cadence and the speech
rate, both the service's; counting snapshots follows them. It costs one partial interval
(about 0.3 s) of delay. No rule can know the future: a word revised after that is a
contradiction, which the final transcript (authoritative) corrects.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from .events import Partial

# A token is a run of non-space characters, or one CJK character (no spaces between words).
_CJK = "\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
# Items whose partials are remembered at once (items end with their final; older ones
# beyond this are forgotten first: a service never has this many utterances open).
MAX_OPEN_ITEMS = 8


def _tokens(text: str) -> list[tuple[str, int]]:
    """(token, end offset) of each token of ``text``."""
    return [(match.group(), match.end()) for match in _TOKEN.finditer(text)]


class StableText:
    """Per item, the prefix of its partials that has stopped changing."""

    def __init__(self) -> None:
        """Start with no item seen."""
        # item id -> the tokens of its previous partial.
        self._previous: OrderedDict[str, list[str]] = OrderedDict()

    def update(self, partial: Partial) -> str:
        """Return the stable prefix of ``partial``'s utterance (a prefix of its preview)."""
        preview = partial.preview
        tokens = _tokens(preview)
        previous = self._previous.pop(partial.item_id, [])
        self._previous[partial.item_id] = [token for token, _ in tokens]
        while len(self._previous) > MAX_OPEN_ITEMS:
            self._previous.popitem(last=False)
        end = 0
        for index, (token, token_end) in enumerate(tokens[:-1]):  # followed by a token
            if index >= len(previous) or previous[index] != token:
                break
            end = token_end
        stable = preview[:end]
        frozen = partial.text.rstrip()
        return frozen if len(frozen) > len(stable) else stable

    def forget(self, item_id: str) -> None:
        """Forget an item that is final: its partials are no longer needed."""
        self._previous.pop(item_id, None)
