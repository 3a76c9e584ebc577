"""Append-only live text from revising partials: only words that stopped changing."""

from __future__ import annotations

from qwen_asr_realtime import Partial, StableText


def _partial(stash: str, text: str = "", item_id: str = "item_1") -> Partial:
    return Partial(item_id, text, stash, "en", "neutral")


def _stable_over(previews: list[str]) -> list[str]:
    stable = StableText()
    return [stable.update(_partial(preview)) for preview in previews]


def test_the_newest_word_is_never_stable() -> None:
    assert _stable_over(["turn", "turn", "turn on"]) == ["", "", "turn"]


def test_a_followed_word_unchanged_since_the_previous_partial_is_stable() -> None:
    assert _stable_over(["tu", "turn on", "turn on the", "turn on the kitc"]) == [
        "",
        "",
        "turn on",
        "turn on the",
    ]


def test_a_word_corrected_once_followed_is_held_until_it_stands_twice() -> None:
    """ "the" first comes out as "thes" when "kitchen" follows it, then is corrected."""
    previews = [
        "turn on",
        "turn on the",
        "turn on thes kitc",
        "turn on the kitchen li",
        "turn on the kitchen lights",
    ]
    stable = _stable_over(previews)
    assert stable == ["", "turn on", "turn on", "turn on", "turn on the kitchen"]
    assert all("thes" not in text for text in stable)


def test_punctuation_added_and_removed_is_not_stable() -> None:
    """今天 → 今天。 → 今天天气: the full stop is revised away, never sent."""
    stable = _stable_over(["今天", "今天。", "今天天气"])
    assert stable == ["", "今天", "今天"]
    assert all("。" not in text for text in stable)


def test_the_documented_frozen_text_is_stable_at_once() -> None:
    stable = StableText()
    assert stable.update(_partial("the kitchen", text="turn on ")) == "turn on"


def test_items_are_followed_separately_and_forgotten_at_their_final() -> None:
    stable = StableText()
    stable.update(_partial("turn on", item_id="a"))
    assert stable.update(_partial("open the", item_id="b")) == ""
    assert stable.update(_partial("turn on the", item_id="a")) == "turn on"
    stable.forget("a")
    assert stable.update(_partial("turn on the lights", item_id="a")) == ""
