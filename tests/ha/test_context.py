"""Context biasing text built from the home's floors, areas and exposed entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import CONF_CONTEXT, CONF_HOME_CONTEXT


def _build_home(hass: HomeAssistant) -> None:
    floor = fr.async_get(hass).async_create("Ground floor", aliases={"downstairs"})
    areas = ar.async_get(hass)
    areas.async_create("Kitchen", aliases={"cookhouse"}, floor_id=floor.floor_id)
    areas.async_create("Living room")
    entities = er.async_get(hass)
    for domain, object_id, name, aliases, exposed in (
        ("light", "kitchen", "Kitchen light", {"big light"}, True),
        ("cover", "blinds", "Ada's blinds", set(), True),
        ("switch", "secret", "Secret switch", set(), False),
    ):
        entry = entities.async_get_or_create(
            domain, "test", object_id, suggested_object_id=object_id, original_name=name
        )
        entities.async_update_entity(entry.entity_id, aliases=aliases)
        hass.states.async_set(entry.entity_id, "off", {"friendly_name": name})
        async_expose_entity(hass, "conversation", entry.entity_id, exposed)


async def test_context_from_home_follows_renames(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """The user's text first, then floors, areas and exposed entities with their aliases."""
    _build_home(hass)
    set_options(setup_entry, **{CONF_CONTEXT: "Qwen\nHome Assistant"})
    pcm = speech_pcm("what_time_is_it")

    await recognize(pcm)
    assert emulator.sessions[-1].config.corpus_text == (
        "Qwen\nHome Assistant\n"
        "Ground floor\ndownstairs\n"
        "Kitchen\ncookhouse\nLiving room\n"
        "Ada's blinds\nKitchen light\nbig light"
    )

    # Renames in the registries reach the next session.
    er.async_get(hass).async_update_entity("light.kitchen", name="Island light")
    areas = ar.async_get(hass)
    living = areas.async_get_area_by_name("Living room")
    assert living is not None
    areas.async_update(living.id, name="Lounge")
    async_expose_entity(hass, "conversation", "switch.secret", True)
    await hass.async_block_till_done()

    await recognize(pcm)
    assert emulator.sessions[-1].config.corpus_text == (
        "Qwen\nHome Assistant\n"
        "Ground floor\ndownstairs\n"
        "Kitchen\ncookhouse\nLounge\n"
        "Ada's blinds\nIsland light\nbig light\nSecret switch"
    )


async def test_context_off_and_bounded(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Home names can be switched off; the total never exceeds Qwen's limit."""
    _build_home(hass)
    pcm = speech_pcm("what_time_is_it")

    set_options(setup_entry, **{CONF_HOME_CONTEXT: False})
    await recognize(pcm)
    assert emulator.sessions[-1].config.corpus_text is None  # no context at all

    # A huge home: thousands of exposed entities are cut at a line boundary.
    for index in range(2000):
        entity_id = f"sensor.probe_{index}"
        hass.states.async_set(entity_id, "1", {"friendly_name": f"Probe number {index}"})
        async_expose_entity(hass, "conversation", entity_id, True)
    set_options(setup_entry, **{CONF_HOME_CONTEXT: True, CONF_CONTEXT: "Qwen"})
    await recognize(pcm)
    text = emulator.sessions[-1].config.corpus_text
    assert 9_900 < len(text) <= 10_000
    assert text.startswith("Qwen\nGround floor")
    assert all(line.strip() for line in text.split("\n"))


async def test_context_without_exposure_settings(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Without HA's core integration (tests only) no entity is exposed; areas still count."""
    ar.async_get(hass).async_create("Attic")
    hass.states.async_set("light.attic", "on", {"friendly_name": "Attic light"})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.runtime_data.home_context.text == "Attic"


@pytest.mark.skipif(
    not hasattr(er, "COMPUTED_NAME"), reason="HA 2026.x: aliases may name the computed name"
)
async def test_context_skips_the_computed_name_alias(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Newer HA lists a COMPUTED_NAME marker among aliases; only text aliases are sent."""
    entities = er.async_get(hass)
    entry = entities.async_get_or_create(
        "light", "test", "desk", suggested_object_id="desk", original_name="Desk lamp"
    )
    entities.async_update_entity(
        entry.entity_id,
        aliases=[er.COMPUTED_NAME, "reading light"],  # type: ignore[attr-defined]
    )
    hass.states.async_set(entry.entity_id, "off", {"friendly_name": "Desk lamp"})
    async_expose_entity(hass, "conversation", entry.entity_id, True)

    await recognize(speech_pcm("what_time_is_it"))
    assert emulator.sessions[-1].config.corpus_text == "Desk lamp\nreading light"
