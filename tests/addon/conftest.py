"""Fixtures for the add-on suites: a stand-in for the Supervisor's discovery API.

Also reuses the server helpers (``tests/support/server_helpers.py``)."""

from __future__ import annotations

from tests.support.fake_supervisor import supervisor

__all__ = ["supervisor"]
