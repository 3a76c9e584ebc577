"""Config entries of the running hass, made and read as a user's frontend does: flows over
REST, registries over the websocket API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .flows import DOMAIN, SUBENTRY_TYPE, account_input, form_input
from .hass_process import HassProcess
from .hass_ws import HassWebSocket

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    entry_id: str
    entity_id: str  # its (first) speech-to-text entity
    title: str
    subentry_id: str | None = None  # that entity's subentry (Qwen ASR entries)


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


def stt_entity_of(hass: HassProcess, entry_id: str, subentry_id: str | None = None) -> str | None:
    """The entry's speech-to-text entity (with ``subentry_id``: that subentry's)."""
    entities = ws_call(hass, "config/entity_registry/list")
    for entity in entities:
        if entity.get("config_entry_id") != entry_id or not entity["entity_id"].startswith("stt."):
            continue
        if subentry_id is None or entity.get("config_subentry_id") == subentry_id:
            return str(entity["entity_id"])
    return None


def subentries_of(hass: HassProcess, entry_id: str) -> list[dict[str, Any]]:
    """The entry's subentries as the integration page lists them."""
    result: list[dict[str, Any]] = ws_call(
        hass, "config_entries/subentries/list", entry_id=entry_id
    )
    return result


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


def stt_settings(hass: HassProcess, entry: Entry) -> dict[str, Any]:
    """The settings of the entry's speech-to-text, as its diagnostics show them."""
    for item in diagnostics(hass, entry.entry_id)["speech_to_text"]:
        if item["subentry_id"] == entry.subentry_id:
            return dict(item["settings"])
    raise AssertionError(f"no speech-to-text {entry.subentry_id} in {entry.title}")


def add_qwen_entry(hass: HassProcess, endpoint: str, api_key: str) -> Entry:
    """The user flow with a working key; returns the entry once its entity exists."""
    rest = hass.rest()
    form = rest.start_flow(DOMAIN)
    result = rest.flow_step(
        form["flow_id"], account_input(form, api_key=api_key, endpoint=endpoint)
    )
    assert result["type"] == "create_entry", result
    entry_id = str(result["result"]["entry_id"])
    (subentry,) = subentries_of(hass, entry_id)  # setup creates the first speech-to-text
    subentry_id = str(subentry["subentry_id"])
    entity_id = wait_for(
        lambda: stt_entity_of(hass, entry_id, subentry_id), what=f"stt entity of {entry_id}"
    )
    return Entry(entry_id, entity_id, str(result["title"]), subentry_id)


def add_speech_to_text(hass: HassProcess, entry: Entry, name: str, values: dict[str, Any]) -> Entry:
    """ "Add speech-to-text" on a Qwen ASR entry: a subentry with its own name and settings;
    returns it (as an Entry of the same account) once its entity exists."""
    rest = hass.rest()
    form = rest.start_subentry_flow(entry.entry_id, SUBENTRY_TYPE)
    assert (form["type"], form["step_id"]) == ("form", "user"), form
    known = {sub["subentry_id"] for sub in subentries_of(hass, entry.entry_id)}
    result = rest.subentry_step(form["flow_id"], form_input(form, {"name": name, **values}))
    assert result["type"] == "create_entry", result
    (subentry_id,) = {
        str(sub["subentry_id"]) for sub in subentries_of(hass, entry.entry_id)
    } - known
    entity_id = wait_for(
        lambda: stt_entity_of(hass, entry.entry_id, subentry_id),
        what=f"stt entity of the speech-to-text {name}",
    )
    wait_until_loaded(hass, Entry(entry.entry_id, entity_id, name, subentry_id))
    return Entry(entry.entry_id, entity_id, name, subentry_id)


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


def set_settings(hass: HassProcess, entry: Entry, values: dict[str, Any]) -> dict[str, Any]:
    """A speech-to-text's reconfigure flow: change ``values``, keep every other setting."""
    assert entry.subentry_id is not None, entry
    rest = hass.rest()
    form = rest.start_subentry_flow(entry.entry_id, SUBENTRY_TYPE, entry.subentry_id)
    assert (form["type"], form["step_id"]) == ("form", "reconfigure"), form
    result = rest.subentry_step(form["flow_id"], form_input(form, values))
    assert (result["type"], result["reason"]) == ("abort", "reconfigure_successful"), result
    return result
