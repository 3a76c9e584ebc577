"""The Pi page's recipe (docs/raspberry-pi.md), extracted so that the tests and CI run what a
reader copies.

A block is the fenced code that follows a marker line ``<!-- pi-install: ... -->`` or
``<!-- unit: NAME -->``. ``python tests/support/pi/readme_blocks.py pi-install`` prints one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "raspberry-pi.md"
_BLOCK = re.compile(
    r"^<!-- (?P<key>[\w.-]+)(?::\s*(?P<arg>[^>]*?))? -->\n```\w*\n(?P<body>.*?)^```", re.M | re.S
)


def blocks(text: str | None = None) -> list[tuple[str, str, str]]:
    """(key, argument, body) of every marked block, in order."""
    source = PAGE.read_text(encoding="utf-8") if text is None else text
    return [(m["key"], (m["arg"] or "").strip(), m["body"]) for m in _BLOCK.finditer(source)]


def block(key: str) -> str:
    found = [body for k, _, body in blocks() if k == key]
    if len(found) != 1:
        raise LookupError(f"{PAGE.name} has {len(found)} blocks marked <!-- {key}: ... -->")
    return found[0]


def units() -> dict[str, str]:
    """The systemd units: file name -> content."""
    return {arg: body for key, arg, body in blocks() if key == "unit"}


if __name__ == "__main__":
    sys.stdout.write(block(sys.argv[1]))
