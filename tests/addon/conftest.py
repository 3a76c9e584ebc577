"""Fixtures for the add-on suites: a stand-in for the Supervisor's discovery API.

Also reuses the Wyoming suite's helpers (``tests/wyoming/server_helpers.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

_WYOMING_TESTS = Path(__file__).resolve().parent.parent / "wyoming"
if str(_WYOMING_TESTS) not in sys.path:
    sys.path.insert(0, str(_WYOMING_TESTS))

from fake_supervisor import supervisor  # noqa: E402

__all__ = ["supervisor"]
