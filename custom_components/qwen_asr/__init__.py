"""Qwen ASR: streaming speech-to-text with Alibaba Qwen3-ASR-Flash-Realtime."""

from __future__ import annotations

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
from .helpers import async_check_connection, stt_subentries
from .migration import async_migrate_entry
from .models import QwenConfigEntry, QwenRuntimeData
from .realtime import QwenError, redact
from .repairs import async_clear_settings_issue, async_raise_settings_issue

__all__ = ["async_migrate_entry"]

PLATFORMS = [Platform.STT]


async def async_setup_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Check the account with one session (no audio), then add the entities.

    Each failure goes to whoever can fix it (failures.py): a rejected key starts
    reauthentication; a refused model or an endpoint that cannot work stops the entry
    with a repair issue that leads to *Reconfigure*; an unreachable or failing service is
    retried by Home Assistant with backoff. Every recognition then opens its own session.
    Each speech-to-text subentry is one entity on a device of its own.
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
    entry.runtime_data = QwenRuntimeData(home_context=home_context, subentries=_titles(entry))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


def _titles(entry: QwenConfigEntry) -> dict[str, str]:
    """Return the speech-to-text subentries that have an entity: id -> device name."""
    return {subentry.subentry_id: subentry.title for subentry in stt_subentries(entry)}


async def _async_update_listener(hass: HomeAssistant, entry: QwenConfigEntry) -> None:
    """Reload when a speech-to-text subentry was added, removed or renamed.

    A subentry's settings are read at the start of every recognition: changing them needs
    no reload, which would cost a session to check the account and cut recognitions short.
    """
    if _titles(entry) != entry.runtime_data.subentries:
        await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Unload the entities; sessions still closing are cancelled with the entry's tasks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> None:
    """Remove the repair issue of a deleted entry."""
    async_clear_settings_issue(hass, entry.entry_id)
