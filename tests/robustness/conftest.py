"""Fixtures for the robustness suites: an in-process Wyoming server before the emulator.

Reuses the server helpers (``tests/support/server_helpers.py``).
"""

from __future__ import annotations

# The Wyoming suite's in-process server fixture, shared rather than repeated.
from tests.support.server_helpers import port, start_server

__all__ = ["port", "start_server"]
