"""Fixtures for the robustness suites: an in-process Wyoming server before the emulator.

Reuses the Wyoming suite's helpers (``tests/wyoming/server_helpers.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

_WYOMING_TESTS = Path(__file__).resolve().parent.parent / "wyoming"
if str(_WYOMING_TESTS) not in sys.path:
    sys.path.insert(0, str(_WYOMING_TESTS))

# The Wyoming suite's in-process server fixture, shared rather than repeated.
from server_helpers import port, start_server  # noqa: E402

__all__ = ["port", "start_server"]
