"""The names Assist knows the home by, read over the websocket API.

The same selection the integration makes in-process (custom_components/qwen_asr/
context.py): every floor and area, and each entity with a state that is exposed to
Assist (the ``conversation`` assistant), named by its registry name or else its
friendly name, with its aliases. Commands (the same in HA 2025.4 and 2026.11):
``get_states``, ``config/entity_registry/get_entries``, ``config/area_registry/list``,
``config/floor_registry/list``, ``homeassistant/expose_entity/list`` and
``homeassistant/expose_new_entities/get`` (the last two need an administrator's token).

Exposure follows HA's ``async_should_expose``: an entity's stored setting (the
registry entry's ``options``) if it has one, else HA's default for new entities.
Entities without a unique id keep their setting outside the registry, where only the
exposed ones can be listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from qwen_asr_realtime import HomeNames, Named

ASSISTANT = "conversation"

# HA's defaults for entities that have no exposure setting yet
# (homeassistant/components/homeassistant/exposed_entities.py, 2025.4 and 2026.11).
DEFAULT_EXPOSED_DOMAINS = frozenset(
    {
        "climate",
        "cover",
        "fan",
        "humidifier",
        "light",
        "media_player",
        "scene",
        "switch",
        "todo",
        "vacuum",
        "water_heater",
    }
)
DEFAULT_EXPOSED_BINARY_SENSOR_CLASSES = frozenset(
    {"door", "garage_door", "lock", "motion", "opening", "presence", "window"}
)
DEFAULT_EXPOSED_SENSOR_CLASSES = frozenset(
    {"aqi", "carbon_monoxide", "carbon_dioxide", "humidity", "pm10", "pm25", "temperature"}
    | {"volatile_organic_compounds"}
)


class Commands(Protocol):
    """What read_home_names needs of a connection: commands answered with their result."""

    async def command(self, kind: str, **fields: Any) -> Any:
        """Send one command and return its ``result``; raise HassError if it fails."""


async def read_home_names(hass: Commands) -> HomeNames:
    """Fetch the registries and states and select what Assist can be asked about."""
    states = _dicts(await hass.command("get_states"))
    entity_ids = [str(state["entity_id"]) for state in states if "entity_id" in state]
    entries: Mapping[str, Any] = {}
    if entity_ids:
        entries = await hass.command("config/entity_registry/get_entries", entity_ids=entity_ids)
    listed = await hass.command("homeassistant/expose_entity/list")
    expose_new = await hass.command("homeassistant/expose_new_entities/get", assistant=ASSISTANT)
    return HomeNames(
        floors=tuple(_places(await hass.command("config/floor_registry/list"))),
        areas=tuple(_places(await hass.command("config/area_registry/list"))),
        entities=tuple(
            exposed_entities(
                states,
                entries if isinstance(entries, Mapping) else {},
                listed=_listed(listed),
                expose_new=bool(isinstance(expose_new, Mapping) and expose_new.get("expose_new")),
            )
        ),
    )


def exposed_entities(
    states: Iterable[Mapping[str, Any]],
    entries: Mapping[str, Any],
    *,
    listed: frozenset[str],
    expose_new: bool,
) -> Iterator[Named]:
    """Select the entities exposed to Assist from ``get_states`` and ``get_entries`` results."""
    for state in states:
        entity_id = str(state.get("entity_id", ""))
        attributes = state.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        entry = entries.get(entity_id)
        entry = entry if isinstance(entry, Mapping) else None
        if entry is None:
            exposed = entity_id in listed
        else:
            exposed = _should_expose(entity_id, entry, attributes, expose_new)
        if not exposed:
            continue
        # A name set in the entity registry wins: it is what the user renamed it to.
        name = (entry.get("name") if entry else None) or _state_name(entity_id, attributes)
        # HA 2026 lists the computed name as a None alias; it is the name already.
        aliases = entry.get("aliases") if entry else None
        strings = tuple(a for a in aliases or () if isinstance(a, str))
        yield Named(str(name), strings)


def _should_expose(
    entity_id: str, entry: Mapping[str, Any], attributes: Mapping[str, Any], expose_new: bool
) -> bool:
    options = entry.get("options")
    settings = options.get(ASSISTANT) if isinstance(options, Mapping) else None
    stored = settings.get("should_expose") if isinstance(settings, Mapping) else None
    if isinstance(stored, bool):
        return stored
    if not expose_new or entry.get("entity_category") or entry.get("hidden_by"):
        return False
    domain = entity_id.partition(".")[0]
    device_class = attributes.get("device_class")
    return (
        domain in DEFAULT_EXPOSED_DOMAINS
        or (domain == "binary_sensor" and device_class in DEFAULT_EXPOSED_BINARY_SENSOR_CLASSES)
        or (domain == "sensor" and device_class in DEFAULT_EXPOSED_SENSOR_CLASSES)
    )


def _state_name(entity_id: str, attributes: Mapping[str, Any]) -> str:
    """Return HA's ``State.name``: the friendly name, else the object id with spaces."""
    friendly = attributes.get("friendly_name")
    if isinstance(friendly, str) and friendly:
        return friendly
    return entity_id.partition(".")[2].replace("_", " ")


def _places(result: Any) -> Iterator[Named]:
    for place in _dicts(result):
        name = place.get("name")
        if isinstance(name, str) and name:
            aliases = place.get("aliases") or ()
            yield Named(name, tuple(a for a in aliases if isinstance(a, str)))


def _listed(result: Any) -> frozenset[str]:
    exposed = result.get("exposed_entities") if isinstance(result, Mapping) else None
    if not isinstance(exposed, Mapping):
        return frozenset()
    return frozenset(
        entity_id
        for entity_id, assistants in exposed.items()
        if isinstance(assistants, Mapping) and assistants.get(ASSISTANT)
    )


def _dicts(result: Any) -> list[Mapping[str, Any]]:
    return (
        [item for item in result if isinstance(item, Mapping)] if isinstance(result, list) else []
    )
