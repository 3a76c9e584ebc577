"""Qwen ASR: streaming speech-to-text with Alibaba Qwen3-ASR-Flash-Realtime."""

from __future__ import annotations

import logging

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)

from .const import DOMAIN
from .context import HomeContext
from .helpers import async_check_connection
from .models import QwenConfigEntry, QwenRuntimeData
from .realtime import AuthenticationError, ConfigError, QwenError

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [Platform.STT]


async def async_setup_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Check the account with one session (no audio), then add the entity.

    A rejected key starts reauthentication; an unreachable service is retried by Home
    Assistant with backoff. Every recognition then opens its own session.
    """
    try:
        await async_check_connection(entry.data)
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except ConfigError as err:  # stored settings the client refuses; only a reconfigure helps
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_config",
            translation_placeholders={"error": str(err)},
        ) from err
    except QwenError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    home_context = HomeContext(hass)
    entry.async_on_unload(home_context.async_start())
    entry.runtime_data = QwenRuntimeData(home_context=home_context)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Unload the entity; sessions still closing are cancelled with the entry's tasks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_migrate_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """1.1 -> 1.2: drop the unique id that 1.1 derived from the API key."""
    if entry.version > 1:
        return False  # a downgrade: this version cannot read newer entries
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(entry, unique_id=None, minor_version=2)
        _LOGGER.debug("Migrated %s to version 1.2", entry.title)
    return True
