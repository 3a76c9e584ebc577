"""Context biasing text built from the home's floors, areas and exposed entities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.components import stt
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
    async_should_expose,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import CONF_CONTEXT, CONF_HOME_CONTEXT, DOMAIN
from custom_components.qwen_asr.context import HomeContext
from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics

from .conftest import chunks, pcm_metadata, stt_diagnostics, stt_entity_id


def _aliases(*extra: str) -> Any:
    """Aliases as the UI stores them: since HA 2026.10 an ordered list that keeps the
    entity's computed name (a marker) unless the user removed it; before, a set."""
    computed = getattr(er, "COMPUTED_NAME", None)
    return set(extra) if computed is None else [computed, *extra]


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
        entities.async_update_entity(entry.entity_id, aliases=_aliases(*aliases))
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


# -- the text follows every kind of change (read straight from the entry's builder) ------

BEFORE = (
    "Ground floor\ndownstairs\n"
    "Kitchen\ncookhouse\nLiving room\n"
    "Ada's blinds\nKitchen light\nbig light"
)


@pytest.fixture
async def home(hass: HomeAssistant, setup_entry: MockConfigEntry) -> Callable[[], str]:
    """The example home; returns a function giving the current context text."""
    _build_home(hass)
    await hass.async_block_till_done()

    def _text() -> str:
        text: str = setup_entry.runtime_data.home_context.text
        return text

    assert _text() == BEFORE
    return _text


async def test_follows_device_renames(
    hass: HomeAssistant, setup_entry: MockConfigEntry, home: Callable[[], str]
) -> None:
    """An entity named after its device takes the device's new name."""
    entity_id = stt_entity_id(hass, setup_entry)  # named after its device, the service
    async_expose_entity(hass, "conversation", entity_id, True)
    await hass.async_block_till_done()
    assert home() == BEFORE + "\nQwen ASR (Custom)"

    device_id = er.async_get(hass).async_get(entity_id).device_id  # type: ignore[union-attr]
    dr.async_get(hass).async_update_device(device_id, name_by_user="Voice engine")
    await hass.async_block_till_done()
    assert home() == BEFORE + "\nVoice engine"


async def test_follows_entities_added_and_removed(
    hass: HomeAssistant, home: Callable[[], str]
) -> None:
    """A new entity that Assist exposes appears; a removed one disappears."""
    hass.states.async_set("light.porch", "on", {"friendly_name": "Porch light"})
    await hass.async_block_till_done()
    assert home() == (
        "Ground floor\ndownstairs\nKitchen\ncookhouse\nLiving room\n"
        "Ada's blinds\nKitchen light\nbig light\nPorch light"
    )

    hass.states.async_remove("cover.blinds")
    await hass.async_block_till_done()
    assert home() == (
        "Ground floor\ndownstairs\nKitchen\ncookhouse\nLiving room\n"
        "Kitchen light\nbig light\nPorch light"
    )


async def test_follows_exposing_and_unexposing(
    hass: HomeAssistant, home: Callable[[], str]
) -> None:
    """Exposing an entity to Assist adds it; unexposing removes it."""
    async_expose_entity(hass, "conversation", "switch.secret", True)
    await hass.async_block_till_done()
    assert home() == BEFORE + "\nSecret switch"

    async_expose_entity(hass, "conversation", "light.kitchen", False)
    await hass.async_block_till_done()
    assert home() == (
        "Ground floor\ndownstairs\nKitchen\ncookhouse\nLiving room\nAda's blinds\nSecret switch"
    )


async def test_follows_area_changes(hass: HomeAssistant, home: Callable[[], str]) -> None:
    """Areas renamed, given aliases, added and deleted."""
    areas = ar.async_get(hass)
    kitchen = areas.async_get_area_by_name("Kitchen")
    living = areas.async_get_area_by_name("Living room")
    assert kitchen is not None and living is not None
    areas.async_update(living.id, name="Lounge", aliases={"den"})
    areas.async_create("Garage")
    await hass.async_block_till_done()
    assert home() == (
        "Ground floor\ndownstairs\n"
        "Garage\nKitchen\ncookhouse\nLounge\nden\n"
        "Ada's blinds\nKitchen light\nbig light"
    )

    areas.async_delete(kitchen.id)
    await hass.async_block_till_done()
    assert home() == (
        "Ground floor\ndownstairs\nGarage\nLounge\nden\nAda's blinds\nKitchen light\nbig light"
    )


async def test_follows_floor_changes(hass: HomeAssistant, home: Callable[[], str]) -> None:
    """Floors renamed, added and deleted."""
    floors = fr.async_get(hass)
    ground = floors.async_get_floor_by_name("Ground floor")
    assert ground is not None
    floors.async_update(ground.floor_id, name="Main floor")
    floors.async_create("Attic floor", aliases={"loft"})
    await hass.async_block_till_done()
    assert home() == (
        "Attic floor\nloft\nMain floor\ndownstairs\n"
        "Kitchen\ncookhouse\nLiving room\n"
        "Ada's blinds\nKitchen light\nbig light"
    )

    floors.async_delete(ground.floor_id)
    await hass.async_block_till_done()
    assert home() == (
        "Attic floor\nloft\nKitchen\ncookhouse\nLiving room\nAda's blinds\nKitchen light\nbig light"
    )


async def test_stored_exposure_defaults_keep_the_text(
    hass: HomeAssistant, home: Callable[[], str]
) -> None:
    """The first time Assist (or building this text) asks whether an entity is exposed, HA
    stores the default in the entity's registry options. That write renames nothing, so
    the text stays built; a real change still rebuilds it."""
    registry = er.async_get(hass)
    porch = registry.async_get_or_create(
        "light", "test", "porch", suggested_object_id="porch", original_name="Porch light"
    )
    garage = registry.async_get_or_create("light", "test", "garage")  # no state (yet)
    hass.states.async_set(porch.entity_id, "on", {"friendly_name": "Porch light"})
    await hass.async_block_till_done()
    with patch.object(HomeContext, "_home_names", autospec=True, wraps=HomeContext._home_names):
        builds: Any = HomeContext._home_names
        assert "Porch light" in home()
        assert "conversation" in registry.async_get(porch.entity_id).options  # type: ignore[union-attr]
        async_should_expose(hass, "conversation", garage.entity_id)  # what Assist does
        assert "conversation" in registry.async_get(garage.entity_id).options  # type: ignore[union-attr]
        await hass.async_block_till_done()
        assert "Porch light" in home()
        assert builds.call_count == 1

        registry.async_update_entity(porch.entity_id, name="Front door light")
        await hass.async_block_till_done()
        assert "Front door light" in home()
        assert builds.call_count == 2


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


async def test_the_setup_steps_choice_is_honoured_and_shown_in_diagnostics(
    hass: HomeAssistant,
    emulator: Any,
    entry_data: dict[str, Any],
    set_options: Callable[..., None],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Names unticked at setup: no context reaches the service; diagnostics say so and
    count the names of the last request, never showing them."""
    assert await async_setup_component(hass, "homeassistant", {})
    _build_home(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data, CONF_HOME_CONTEXT: False}
    )
    await hass.async_block_till_done()
    entry = result["result"]
    entity = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, entry))
    assert entity is not None
    pcm = speech_pcm("what_time_is_it")

    await entity.internal_async_process_audio_stream(pcm_metadata("en-US"), chunks(pcm))
    assert emulator.sessions[-1].config.corpus_text is None  # nothing but the audio
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, entry))
    assert diagnostics["home_names"] == {"enabled": False, "sent_in_last_request": 0}

    set_options(entry, **{CONF_HOME_CONTEXT: True})
    await entity.internal_async_process_audio_stream(pcm_metadata("en-US"), chunks(pcm))
    sent = emulator.sessions[-1].config.corpus_text
    assert "Kitchen" in sent
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, entry))
    assert diagnostics["home_names"] == {
        "enabled": True,
        "sent_in_last_request": len(sent.splitlines()),
    }
    assert "Kitchen" not in json.dumps(diagnostics)
