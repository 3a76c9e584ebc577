"""Which entities count as exposed to Assist, from the websocket API's answers (shapes as
HA 2025.4.4 and 2026.11.0 send them), and how an unreachable HA is handled.

The real-hass tests (tests/e2e/test_home_names.py) cover the whole path; these pin the
exposure rules that a small test home cannot show all at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.support.ports import free_port
from wyoming_server.hass import HassConfig, HomeNamesSource
from wyoming_server.hass.names import exposed_entities


def _state(entity_id: str, **attributes: Any) -> dict[str, Any]:
    return {"entity_id": entity_id, "state": "on", "attributes": attributes}


def _entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": None,
        "aliases": [],
        "options": {},
        "entity_category": None,
        "hidden_by": None,
    }
    return {**base, **fields}


def _names(states: list[dict[str, Any]], entries: dict[str, Any], **kwargs: Any) -> list[Any]:
    kwargs.setdefault("listed", frozenset())
    kwargs.setdefault("expose_new", True)
    return [(n.name, n.aliases) for n in exposed_entities(states, entries, **kwargs)]


def test_stored_settings_win_over_the_defaults() -> None:
    states = [_state("light.a", friendly_name="Lamp A"), _state("sensor.b", friendly_name="B")]
    entries = {
        "light.a": _entry(options={"conversation": {"should_expose": False}}),
        "sensor.b": _entry(options={"conversation": {"should_expose": True}}),
    }
    assert _names(states, entries) == [("B", ())]


def test_defaults_follow_home_assistant() -> None:
    states = [
        _state("light.kitchen", friendly_name="Kitchen light"),
        _state("switch.config", friendly_name="Config switch"),
        _state("cover.hidden", friendly_name="Hidden cover"),
        _state("sensor.temp", friendly_name="Temperature", device_class="temperature"),
        _state("sensor.power", friendly_name="Power", device_class="power"),
        _state("binary_sensor.door", friendly_name="Front door", device_class="door"),
        _state("binary_sensor.plug", friendly_name="Plug", device_class="plug"),
        _state("input_boolean.guest", friendly_name="Guest mode"),
    ]
    entries = {
        "light.kitchen": _entry(),
        "switch.config": _entry(entity_category="config"),
        "cover.hidden": _entry(hidden_by="user"),
        "sensor.temp": _entry(),
        "sensor.power": _entry(),
        "binary_sensor.door": _entry(),
        "binary_sensor.plug": _entry(),
        "input_boolean.guest": _entry(),
    }
    assert [name for name, _ in _names(states, entries)] == [
        "Kitchen light",
        "Temperature",
        "Front door",
    ]
    assert _names(states, entries, expose_new=False) == []


def test_names_and_aliases() -> None:
    states = [
        _state("light.a", friendly_name="Hallway Lamp"),
        _state("light.no_friendly_name"),
    ]
    entries = {
        # HA 2026 lists the computed name as a None alias.
        "light.a": _entry(name="Ada's lamp", aliases=[None, "reading light"]),
        "light.no_friendly_name": _entry(),
    }
    assert _names(states, entries) == [
        ("Ada's lamp", ("reading light",)),
        ("no friendly name", ()),
    ]


def test_entities_without_a_registry_entry_use_the_exposed_list() -> None:
    states = [_state("light.yaml_one", friendly_name="One"), _state("light.yaml_two")]
    names = _names(states, {"light.yaml_one": None}, listed=frozenset({"light.yaml_one"}))
    assert names == [("One", ())]


async def test_unreachable_home_assistant_is_one_warning_and_retries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    config = HassConfig(f"ws://127.0.0.1:{port}/api/websocket", "secret-token", timeout=2)
    source = HomeNamesSource(config, retry_delays=(0.05, 0.1))
    source.start()
    try:
        async with asyncio.timeout(10):
            while caplog.text.count("still unavailable") < 3:
                await asyncio.sleep(0.02)
    finally:
        await source.stop()
    assert source.text == "" and source() == ""
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "cannot connect" in warnings[0] and "check --hass-url" in warnings[0]
    assert "without home names" in warnings[0]
    assert "secret-token" not in caplog.text and "secret-token" not in repr(source)
