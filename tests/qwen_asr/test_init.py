"""Setting up an entry: the account check, its outcomes, and the entry migration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import (
    CONF_CONTEXT,
    CONF_ENDPOINT,
    CONF_FALLBACK_STT,
    CONF_LANGUAGE,
    DEFAULT_OPTIONS,
    DOMAIN,
    SUBENTRY_STT,
)

from .conftest import chunks, device_subentries, pcm_metadata


async def test_setup_opens_and_closes_one_session(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """The account is checked with one session that carries no audio and is closed."""
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    [session] = emulator.sessions
    assert session.client_types == ["session.update"]
    assert session.audio_bytes == 0
    assert session.closed_at is not None


async def test_rejected_key_at_setup_starts_reauth(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """A key the service rejects stops the setup and asks the user for a new one."""
    emulator.api_keys = frozenset({"another-key"})
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unreachable_service_at_setup_is_retried(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Nothing listening: Home Assistant retries the setup later, no reauth."""
    hass.config_entries.async_update_entry(
        config_entry,
        data={**config_entry.data, CONF_ENDPOINT: "ws://127.0.0.1:1/api-ws/v1/realtime"},
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


# Entries as each earlier version stored them: 1.1 had a unique id made from the API key,
# 1.2 none; both kept the recognition settings in the options. An entry set up before has
# its entity (unique id: the entry id, here renamed by the user) on its service device.
EARLIER_VERSIONS = [
    pytest.param(1, "0123456789abcdef0123456789abcdef", id="1.1"),
    pytest.param(2, None, id="1.2"),
]


def _stored_entry(
    hass: HomeAssistant, entry_data: dict[str, Any], minor_version: int, unique_id: str | None
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen ASR (Custom)",
        data=entry_data,
        options={**DEFAULT_OPTIONS, CONF_LANGUAGE: "yue", CONF_CONTEXT: "Ada"},
        unique_id=unique_id,
        version=1,
        minor_version=minor_version,
    )
    entry.add_to_hass(hass)
    return entry


@pytest.mark.parametrize(("minor_version", "unique_id"), EARLIER_VERSIONS)
async def test_migration_keeps_the_entity_id_and_the_settings(
    hass: HomeAssistant,
    emulator: Any,
    entry_data: dict[str, Any],
    speech_pcm: Callable[..., bytes],
    minor_version: int,
    unique_id: str | None,
) -> None:
    """An earlier entry becomes 2.1: its options become its one speech-to-text subentry,
    and its entity keeps entity id and unique id (what pipelines name), now on the
    subentry, on the same device; it answers with the old settings."""
    entry = _stored_entry(hass, entry_data, minor_version, unique_id)
    options = dict(entry.options)
    devices, entities = dr.async_get(hass), er.async_get(hass)
    device = devices.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    entities.async_get_or_create(
        "stt",
        DOMAIN,
        entry.entry_id,
        config_entry=entry,
        device_id=device.id,
        suggested_object_id="kitchen_voice",
    )

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (2, 1)
    assert entry.unique_id is None and entry.options == {}
    [subentry] = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_STT
    assert subentry.title == "Qwen ASR (Custom)"
    assert subentry.data == options
    moved = entities.async_get("stt.kitchen_voice")
    assert moved is not None
    assert moved.unique_id == entry.entry_id
    assert moved.config_subentry_id == subentry.subentry_id
    assert moved.device_id == device.id
    assert er.async_entries_for_config_entry(entities, entry.entry_id) == [moved]
    device_now = devices.async_get(device.id)
    assert device_now is not None
    assert device_now.identifiers == {(DOMAIN, entry.entry_id)}
    assert device_subentries(device_now) == {entry.entry_id: {subentry.subentry_id}}
    assert dr.async_entries_for_config_entry(devices, entry.entry_id) == [device_now]

    entity = stt.async_get_speech_to_text_entity(hass, "stt.kitchen_voice")
    assert entity is not None
    pcm = speech_pcm("what_time_is_it")
    result = await entity.internal_async_process_audio_stream(pcm_metadata("en-US"), chunks(pcm))
    assert result.result is stt.SpeechResultState.SUCCESS
    assert emulator.sessions[-1].config.language == "yue"  # the old option still applies


@pytest.mark.parametrize(("minor_version", "unique_id"), EARLIER_VERSIONS)
async def test_migration_of_an_entry_never_set_up(
    hass: HomeAssistant,
    emulator: Any,
    entry_data: dict[str, Any],
    minor_version: int,
    unique_id: str | None,
) -> None:
    """No entity or device yet (its setup always failed): the subentry's entity is new,
    with the entry's id as unique id, like every migrated entry's."""
    entry = _stored_entry(hass, entry_data, minor_version, unique_id)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_FALLBACK_STT: "stt.faster_whisper"}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    [subentry] = entry.subentries.values()
    assert subentry.data[CONF_FALLBACK_STT] == "stt.faster_whisper"
    entity_id = er.async_get(hass).async_get_entity_id("stt", DOMAIN, entry.entry_id)
    assert entity_id == "stt.qwen_asr_custom"
    registered = er.async_get(hass).async_get(entity_id)
    assert registered is not None and registered.config_subentry_id == subentry.subentry_id


async def test_a_migrated_entry_stays_migrated_while_setup_is_retried(
    hass: HomeAssistant, entry_data: dict[str, Any]
) -> None:
    """Unreachable service after migrating: the entry stays migrated while HA retries."""
    entry = _stored_entry(hass, {**entry_data, CONF_ENDPOINT: "ws://127.0.0.1:1/x"}, 2, None)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert (entry.version, entry.minor_version) == (2, 1)
    assert len(entry.subentries) == 1
