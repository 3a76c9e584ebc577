"""A request the gate refuses is a value for the caller to report, not an exception."""

from __future__ import annotations

import dataclasses

import pytest

from wyoming_server.limits import Refusal, RequestGate


def test_a_refusal_is_a_frozen_value_that_cannot_be_raised() -> None:
    """Check what the gate returns for a request it refuses: its code, text and reason."""
    refusal = RequestGate(0).admit("192.0.2.1")
    assert isinstance(refusal, Refusal)
    assert not isinstance(refusal, BaseException)
    assert refusal.code == "busy"
    assert refusal.text.startswith("The server is busy")
    assert "--max-sessions" in refusal.reason
    with pytest.raises(dataclasses.FrozenInstanceError):
        refusal.code = "other"  # type: ignore[misc]
