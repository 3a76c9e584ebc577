"""The home-names formatter shared by the integration and the Wyoming server."""

from qwen_asr_realtime import HomeNames, Named, format_home_names


def test_groups_in_order_sorted_with_aliases_after_their_name() -> None:
    home = HomeNames(
        floors=(Named("Upstairs", ("first floor",)), Named("ground floor")),
        areas=(Named("kitchen", ("cooking", "galley")), Named("Bedroom")),
        entities=(Named("Lumière lamp", ("reading light",)), Named("ceiling fan")),
    )
    assert format_home_names(home) == "\n".join(
        [
            "ground floor",
            "Upstairs",
            "first floor",
            "Bedroom",
            "kitchen",
            "cooking",
            "galley",
            "ceiling fan",
            "Lumière lamp",
            "reading light",
        ]
    )


def test_repeats_and_blanks_are_dropped_case_insensitively() -> None:
    home = HomeNames(
        areas=(Named("Kitchen", ("  ",)),),
        entities=(Named("kitchen "), Named("Kitchen lights", ("KITCHEN",))),
    )
    assert format_home_names(home) == "Kitchen\nKitchen lights"


def test_empty_home_is_empty_text() -> None:
    assert format_home_names(HomeNames()) == ""


def test_non_string_aliases_are_skipped() -> None:
    """HA 2026.11 registry entries list an enum marker for "the computed name" as an alias
    (every new entity has one); the name itself is already in the text."""
    from enum import Enum  # noqa: PLC0415

    class ComputedName(Enum):
        SINGLETON = 0

    marker = ComputedName.SINGLETON
    home = HomeNames(entities=(Named("Kitchen lights", (marker, "ceiling")),))  # type: ignore[arg-type]
    assert format_home_names(home) == "Kitchen lights\nceiling"
