"""Qwen ASR: streaming speech-to-text with Alibaba Qwen3-ASR-Flash-Realtime."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .context import HomeContext
from .models import QwenConfigEntry, QwenRuntimeData

PLATFORMS = [Platform.STT]


async def async_setup_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Set up the speech-to-text entity.

    Nothing connects here: every recognition opens its own session, and the key was
    checked by the config flow (a later 401 starts reauthentication).
    """
    home_context = HomeContext(hass)
    entry.async_on_unload(home_context.async_start())
    entry.runtime_data = QwenRuntimeData(home_context=home_context)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Unload the entity."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
