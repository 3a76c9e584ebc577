"""Entries of version 1 -> 2: the options become one speech-to-text subentry.

An entry of version 1 held the recognition settings in its options and had one entity
(unique id: the entry id) on one service device (identifier: the entry id). The subentry
that takes the options gets the entry's id as its own, so the entity keeps its unique id
and entity id, the device its identifier, and the Assist pipelines that name the entity
keep working; both are moved to the subentry.
"""

from __future__ import annotations

import logging
from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from . import compat
from .const import DEFAULT_OPTIONS, DOMAIN, SUBENTRY_STT
from .models import QwenConfigEntry

_LOGGER = logging.getLogger(__name__)


async def async_migrate_entry(hass: HomeAssistant, entry: QwenConfigEntry) -> bool:
    """Migrate an entry of any earlier version to 2.1.

    1.1 -> 1.2 dropped the unique id that 1.1 derived from the API key; 1.x -> 2.1 moves the
    options to a speech-to-text subentry. Home Assistant itself refuses entries of a newer
    major version before calling this.
    """
    if entry.version == 1:
        subentry = ConfigSubentry(
            data=MappingProxyType({**DEFAULT_OPTIONS, **entry.options}),
            subentry_id=entry.entry_id,
            subentry_type=SUBENTRY_STT,
            title=entry.title,
            unique_id=None,
        )
        hass.config_entries.async_add_subentry(entry, subentry)
        _move_entity_and_device(hass, entry, subentry.subentry_id)
        hass.config_entries.async_update_entry(
            entry, unique_id=None, options={}, version=2, minor_version=1
        )
        _LOGGER.debug("Migrated %s to version 2.1", entry.title)
    return True


def _move_entity_and_device(hass: HomeAssistant, entry: QwenConfigEntry, subentry_id: str) -> None:
    """Move the entry's entity and device to its subentry, keeping their ids."""
    entities = er.async_get(hass)
    if entity_id := entities.async_get_entity_id("stt", DOMAIN, entry.entry_id):
        entities.async_update_entity(entity_id, config_subentry_id=subentry_id)
    devices = dr.async_get(hass)
    identifier = (DOMAIN, entry.entry_id)
    if compat.HAS_DEVICE_BY_IDENTIFIER:
        device = devices.async_get_device_by_identifier(identifier, entry.entry_id)
    else:
        device = devices.async_get_device(identifiers={identifier})
    if device is None:
        return
    if compat.HAS_DEVICE_NEW_SUBENTRY:
        devices.async_update_device(device.id, new_config_subentry_id=subentry_id)
    else:
        # Two calls: a removal in the same call would start from the device as it was,
        # leave it in no subentry, and delete it.
        devices.async_update_device(
            device.id, add_config_entry_id=entry.entry_id, add_config_subentry_id=subentry_id
        )
        devices.async_update_device(
            device.id, remove_config_entry_id=entry.entry_id, remove_config_subentry_id=None
        )
