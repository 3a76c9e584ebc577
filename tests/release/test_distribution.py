"""The distribution ships every package of the server: a package missing from pyproject's list
works from a checkout but not from the wheel that pip, the container and the add-on install."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_of_the_server_is_in_the_distribution() -> None:
    """Each folder of wyoming_server/ with an ``__init__.py`` is listed in pyproject.toml."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "wyoming_server").rglob("__init__.py")
    }
    assert found, "no package found"
    assert found <= listed, f"missing from pyproject.toml: {sorted(found - listed)}"
