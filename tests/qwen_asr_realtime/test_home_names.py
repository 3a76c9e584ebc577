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
