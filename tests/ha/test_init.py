"""Setting up an entry: the account check, its outcomes, and the entry migration."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import CONF_ENDPOINT, DEFAULT_OPTIONS, DOMAIN


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


async def test_migration_drops_the_key_derived_unique_id(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """Entries of version 1.1 had a unique id made from the API key: 1.2 has none."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen ASR (Custom)",
        data=entry_data,
        options=dict(DEFAULT_OPTIONS),
        unique_id="0123456789abcdef0123456789abcdef",
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.unique_id is None
    assert (entry.version, entry.minor_version) == (1, 2)
