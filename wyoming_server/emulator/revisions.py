"""Revising partials, as the live service sends them (observed profile).

The live service re-sends the whole hypothesis in each partial and revises it between
events (今天 → 今天。 → 今天天气): the newest word can be a fragment of the word it becomes,
a word can first come out wrong and be corrected once more audio is heard, and punctuation
comes and goes while the speaker pauses. The scripted recognizer's hypothesis only grows, so
this module plays those revisions over it, deterministically:

- a new last word of four letters or more first shows as its first half ("kitc" → "kitchen");
- every third word (index 2, 5, ...) is shown in a wrong form (plural toggled: "the" →
  "thes") in the first partial in which another word follows it, then corrected; a wrong
  form is never repeated in two consecutive partials;
- when the hypothesis did not grow since the previous partial, a full stop is added to the
  last word, and it goes away when the hypothesis grows again.
"""

from __future__ import annotations

_FRAGMENT_MIN_LETTERS = 4
_WRONG_EVERY = 3  # words 2, 5, 8, ... first come out wrong
# Latin and CJK sentence punctuation (the full-width forms written as escapes).
_PUNCTUATION = ".,!?;:\u3002\uff0c\uff01\uff1f"


def _wrong(word: str) -> str:
    """Return a plausible misrecognition of ``word``: its plural toggled."""
    return word[:-1] if word.endswith("s") and len(word) > 1 else word + "s"


class HypothesisReviser:
    """Revises one item's growing hypothesis, one partial at a time."""

    def __init__(self) -> None:
        """Start before the item's first partial."""
        self._count = 0  # partials revised so far
        self._first_seen: list[int] = []  # per word index: the partial it first appeared in
        self._previous_words = 0

    def revise(self, hypothesis: str) -> str:
        """Return the text the partial shows for ``hypothesis`` (the true words so far)."""
        self._count += 1
        words = hypothesis.split()
        while len(self._first_seen) < len(words):
            self._first_seen.append(self._count)
        grew = len(words) > self._previous_words
        self._previous_words = len(words)
        shown = [self._shown(words, index) for index in range(len(words))]
        if shown and not grew and shown[-1][-1] not in _PUNCTUATION:
            shown[-1] += "."
        return " ".join(shown)

    def _shown(self, words: list[str], index: int) -> str:
        word = words[index]
        age = self._count - self._first_seen[index]  # 0 in the partial it first appears in
        last = index == len(words) - 1
        if last and age == 0 and len(word) >= _FRAGMENT_MIN_LETTERS and word.isalpha():
            return word[: (len(word) + 1) // 2]
        followed_first_time = not last and self._first_seen[index + 1] == self._count
        if index % _WRONG_EVERY == 2 and followed_first_time and word.isalpha():
            return _wrong(word)
        return word
