"""Context biasing text built from the home: exposed entities, areas and floors.

Qwen biases recognition toward words in the session's context text, so sending the
names people actually say to Assist ("kitchen", "Ada's lamp") improves accuracy on them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.components.homeassistant.exposed_entities import (
    async_listen_entity_updates,
    async_should_expose,
)
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers import intent

from . import compat
from .realtime import HomeNames, Named, format_home_names, trim_context

ASSISTANT = "conversation"  # the exposure settings Assist uses


class HomeContext:
    """Names from the home's registries and states, rebuilt lazily after they change."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Create the names of ``hass``'s home, built on first use."""
        self._hass = hass
        self._cached: str | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow every change that can alter the names; returns the function that stops it."""
        bus = self._hass.bus
        unsubs: list[Callable[[], None]] = [
            bus.async_listen(
                er.EVENT_ENTITY_REGISTRY_UPDATED,
                self._invalidate,
                event_filter=_changes_names_of_entity,
            ),
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._invalidate),
            bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, self._invalidate),
            # Entities added or removed, and friendly names that change (a device renamed
            # renames its entities' states, not their registry entries).
            bus.async_listen(
                EVENT_STATE_CHANGED, self._invalidate, event_filter=_changes_names_of_state
            ),
        ]
        # KeyError: the homeassistant integration is not loaded (only happens in tests).
        with contextlib.suppress(KeyError):
            unsubs.append(async_listen_entity_updates(self._hass, ASSISTANT, self._invalidate))

        @callback
        def stop() -> None:
            for unsub in unsubs:
                unsub()

        return stop

    @callback
    def _invalidate(self, _event: Event[Any] | None = None) -> None:
        self._cached = None

    @property
    def text(self) -> str:
        """One name per line: floors, areas, then exposed entities (with aliases)."""
        if self._cached is None:
            self._cached = format_home_names(self._home_names())
        return self._cached

    def _home_names(self) -> HomeNames:
        return HomeNames(
            floors=tuple(
                Named(floor.name, tuple(floor.aliases))
                for floor in fr.async_get(self._hass).async_list_floors()
            ),
            areas=tuple(
                Named(area.name, tuple(area.aliases))
                for area in ar.async_get(self._hass).async_list_areas()
            ),
            entities=tuple(self._entity_names()),
        )

    def _entity_names(self) -> Iterable[Named]:
        registry = er.async_get(self._hass)
        for state in self._hass.states.async_all():
            try:
                exposed = async_should_expose(self._hass, ASSISTANT, state.entity_id)
            except KeyError:  # no exposure settings loaded: expose nothing
                return
            if not exposed:
                continue
            entry = registry.async_get(state.entity_id)
            if compat.HAS_ENTITY_ALIASES:
                # The names Assist matches, the primary first; none: Assist cannot either.
                if names := intent.async_get_entity_aliases(self._hass, entry, state=state):
                    yield Named(names[0], tuple(names[1:]))
                continue
            # A name set in the entity registry wins: it is what the user renamed it to.
            name = (entry.name if entry else None) or state.name
            yield Named(name, tuple(entry.aliases) if entry else ())


@callback
def _changes_names_of_entity(data: er.EventEntityRegistryUpdatedData) -> bool:
    """Skip updates of the options only.

    Exposure defaults that Assist (and building the context) store there change no name;
    real exposure changes reach the exposure listener.
    """
    if data["action"] != "update":
        return True
    return not set(data["changes"]) <= {"options"}


@callback
def _changes_names_of_state(data: EventStateChangedData) -> bool:
    old, new = data["old_state"], data["new_state"]
    return old is None or new is None or old.name != new.name


def build_context(user_text: str, home_text: str) -> str:
    """Join the user's own context first (it survives trimming), then the home's names."""
    parts = [part.strip() for part in (user_text, home_text) if part and part.strip()]
    return trim_context("\n".join(parts))


def home_names_sent(context: str, user_text: str) -> int:
    """Count the home's names a context carries: its lines after the user's own text.

    Trimming cuts at a line boundary. For diagnostics, which never show the names.
    """
    user_lines = len(user_text.strip().splitlines())
    return max(0, len(context.splitlines()) - user_lines)
