"""The home's names as Qwen context text, shared by the integration and the Wyoming server.

Both read the same registries (the integration in-process, the server over Home
Assistant's websocket API) and must send Qwen the same text, so the formatting lives here,
free of Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Named:
    """A floor, an area or an exposed entity: the name people say, and its aliases."""

    name: str
    aliases: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class HomeNames:
    """What Assist knows the home by."""

    floors: tuple[Named, ...] = ()
    areas: tuple[Named, ...] = ()
    entities: tuple[Named, ...] = ()


def format_home_names(home: HomeNames) -> str:
    """One name per line: floors, areas, then exposed entities, each sorted by name.

    Aliases follow their name; a name already given (case-insensitively) is not repeated.
    """
    return "\n".join(_unique(_lines(home)))


def _lines(home: HomeNames) -> Iterator[str]:
    for group in (home.floors, home.areas, home.entities):
        for item in sorted(group, key=lambda named: named.name.casefold()):
            yield item.name
            yield from sorted(item.aliases)


def _unique(names: Iterable[str]) -> Iterator[str]:
    seen: set[str] = set()
    for raw in names:
        name = raw.strip()
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            yield name
