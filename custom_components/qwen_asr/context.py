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
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import (
    area_registry as ar,
)
from homeassistant.helpers import (
    entity_registry as er,
)
from homeassistant.helpers import (
    floor_registry as fr,
)

from .realtime import trim_context

ASSISTANT = "conversation"  # the exposure settings Assist uses


class HomeContext:
    """Names from the home's registries, rebuilt lazily after any of them changes."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._cached: str | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow registry and exposure changes; returns the function that stops it."""
        bus = self._hass.bus
        unsubs: list[Callable[[], None]] = [
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._invalidate),
            bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._invalidate),
            bus.async_listen(fr.EVENT_FLOOR_REGISTRY_UPDATED, self._invalidate),
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
            self._cached = "\n".join(_unique(self._names()))
        return self._cached

    def _names(self) -> Iterable[str]:
        for floor in sorted(fr.async_get(self._hass).async_list_floors(), key=_by_name):
            yield floor.name
            yield from sorted(floor.aliases)
        for area in sorted(ar.async_get(self._hass).async_list_areas(), key=_by_name):
            yield area.name
            yield from sorted(area.aliases)
        yield from self._entity_names()

    def _entity_names(self) -> Iterable[str]:
        registry = er.async_get(self._hass)
        names: list[tuple[str, list[str]]] = []
        for state in self._hass.states.async_all():
            try:
                exposed = async_should_expose(self._hass, ASSISTANT, state.entity_id)
            except KeyError:  # no exposure settings loaded: expose nothing
                return
            if not exposed:
                continue
            entry = registry.async_get(state.entity_id)
            # A name set in the entity registry wins: it is what the user renamed it to.
            name = (entry.name if entry else None) or state.name
            aliases = sorted(entry.aliases) if entry else []
            names.append((name, aliases))
        for name, aliases in sorted(names, key=lambda item: item[0].casefold()):
            yield name
            yield from aliases


def build_context(user_text: str, home_text: str) -> str:
    """The user's own context first (it survives trimming), then the home's names."""
    parts = [part.strip() for part in (user_text, home_text) if part and part.strip()]
    return trim_context("\n".join(parts))


def _by_name(item: ar.AreaEntry | fr.FloorEntry) -> str:
    return item.name.casefold()


def _unique(names: Iterable[str]) -> Iterable[str]:
    seen: set[str] = set()
    for raw in names:
        name = raw.strip()
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            yield name
