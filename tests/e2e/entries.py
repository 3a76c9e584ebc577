"""Config entries of the running hass, made and read as a user's frontend does: flows over
REST, registries over the websocket API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .flows import DOMAIN, account_input, form_input
from .hass_process import HassProcess
from .hass_ws import HassWebSocket

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    entry_id: str
    entity_id: str  # its speech-to-text entity
    title: str


def ws_call(hass: HassProcess, command: str, **data: Any) -> Any:
    """One websocket command from synchronous code."""

    async def call() -> Any:
        async with HassWebSocket(hass.url, hass.onboard().token) as ws:
            return await ws.command(command, **data)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(call())
    # Called from an async test: run the call on its own loop in a worker thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, call()).result()


def wait_for(predicate: Callable[[], T | None], timeout: float = 20.0, what: str = "") -> T:
    """Poll until ``predicate`` returns something truthy; every wait has a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.2)


def stt_entity_of(hass: HassProcess, entry_id: str) -> str | None:
    entities = ws_call(hass, "config/entity_registry/list")
    for entity in entities:
        if entity.get("config_entry_id") == entry_id and entity["entity_id"].startswith("stt."):
            return str(entity["entity_id"])
    return None


def entry_state(hass: HassProcess, entry_id: str) -> str | None:
    for entry in hass.rest().entries(DOMAIN):
        if entry["entry_id"] == entry_id:
            return str(entry["state"])
    return None


def entity_available(hass: HassProcess, entity_id: str) -> bool:
    """The entity is in HA's state machine and not unavailable (a pipeline can use it)."""
    return any(
        state["entity_id"] == entity_id and state["state"] != "unavailable"
        for state in hass.rest().states()
    )


def wait_until_loaded(hass: HassProcess, entry: Entry) -> None:
    """Wait for the reload that a reauth or reconfigure schedules (HA does not await it):
    the entry is loaded again and its entity is back, as when a user next looks or speaks.
    A setup that fails (``setup_error``, ``setup_retry``) times out here."""
    wait_for(
        lambda: (
            entry_state(hass, entry.entry_id) == "loaded"
            and entity_available(hass, entry.entity_id)
        ),
        what=f"{entry.title} loaded again with {entry.entity_id}",
    )


def flows_in_progress(hass: HassProcess, handler: str = DOMAIN) -> list[dict[str, Any]]:
    flows = ws_call(hass, "config_entries/flow/progress")
    return [flow for flow in flows if flow.get("handler") == handler]


def diagnostics(hass: HassProcess, entry_id: str) -> dict[str, Any]:
    result: dict[str, Any] = hass.rest().get(f"/api/diagnostics/config_entry/{entry_id}")
    return dict(result["data"])


def add_qwen_entry(hass: HassProcess, endpoint: str, api_key: str) -> Entry:
    """The user flow with a working key; returns the entry once its entity exists."""
    rest = hass.rest()
    form = rest.start_flow(DOMAIN)
    result = rest.flow_step(
        form["flow_id"], account_input(form, api_key=api_key, endpoint=endpoint)
    )
    assert result["type"] == "create_entry", result
    entry_id = str(result["result"]["entry_id"])
    entity_id = wait_for(lambda: stt_entity_of(hass, entry_id), what=f"stt entity of {entry_id}")
    return Entry(entry_id, entity_id, str(result["title"]))


def add_wyoming_entry(hass: HassProcess, port: int) -> Entry:
    """HA's core wyoming integration, configured as a user does: host and port."""
    rest = hass.rest()
    form = rest.start_flow("wyoming")
    assert form["type"] == "form", form
    result = rest.flow_step(form["flow_id"], {"host": "127.0.0.1", "port": port})
    assert result["type"] == "create_entry", result
    entry_id = str(result["result"]["entry_id"])
    entity_id = wait_for(lambda: stt_entity_of(hass, entry_id), what=f"stt entity of {entry_id}")
    return Entry(entry_id, entity_id, str(result["title"]))


def set_options(hass: HassProcess, entry_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """The options flow: change ``values``, keep every other option as shown."""
    rest = hass.rest()
    form = rest.start_options_flow(entry_id)
    assert form["type"] == "form", form
    result = rest.options_step(form["flow_id"], form_input(form, values))
    assert result["type"] == "create_entry", result
    return result
