"""Qwen ASR: streaming speech-to-text with Alibaba Qwen3-ASR-Flash-Realtime."""

from __future__ import annotations

import logging

from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)

from .const import DOMAIN
from .context import HomeContext
from .failures import Remedy, async_diagnose
from .helpers import async_check_connection
from .models import QwenConfigEntry, QwenRuntimeData
from .realtime import QwenError
from .realtime.redact import redact
from .repairs import async_clear_settings_issue, async_raise_settings_issue

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [Platform.STT]


async def async_setup_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Check the account with one session (no audio), then add the entity.

    Each failure goes to whoever can fix it (failures.py): a rejected key starts
    reauthentication; a refused model or an endpoint that cannot work stops the entry
    with a repair issue that leads to *Reconfigure*; an unreachable or failing service is
    retried by Home Assistant with backoff. Every recognition then opens its own session.
    """
    try:
        await async_check_connection(entry.data)
    except QwenError as err:
        remedy, cause = await async_diagnose(entry.data, err)
        if remedy is Remedy.REAUTH:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        # Shown in the UI and kept as the entry's reason: the outbound boundary.
        placeholders = {"error": redact(str(err), entry.data[CONF_API_KEY])}
        if remedy is Remedy.RECONFIGURE and cause is not None:
            async_raise_settings_issue(hass, entry, cause, str(err))
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="invalid_config",
                translation_placeholders=placeholders,
            ) from err
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders=placeholders,
        ) from err
    async_clear_settings_issue(hass, entry.entry_id)
    home_context = HomeContext(hass)
    entry.async_on_unload(home_context.async_start())
    entry.runtime_data = QwenRuntimeData(home_context=home_context)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Unload the entity; sessions still closing are cancelled with the entry's tasks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> None:
    """A deleted entry leaves no repair issue behind."""
    async_clear_settings_issue(hass, entry.entry_id)


async def async_migrate_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """1.1 -> 1.2: drop the unique id that 1.1 derived from the API key.

    Home Assistant itself refuses entries of a newer major version before calling this.
    """
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(entry, unique_id=None, minor_version=2)
        _LOGGER.debug("Migrated %s to version 1.2", entry.title)
    return True
