"""A model the service retires: the repair issue and its fix, through the API the frontend's
Repairs page uses (``repairs/list_issues`` over the websocket, ``/api/repairs/issues/fix``)."""

from __future__ import annotations

from typing import Any

from tests.support.e2e.entries import (
    add_qwen_entry,
    diagnostics,
    entry_state,
    flows_in_progress,
    wait_for,
    wait_until_loaded,
    ws_call,
)
from tests.support.e2e.flows import DOMAIN, KEY_FIELD, account_input, translations
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.services import EmulatorProcess

from .conftest import API_KEY

DEFAULT_MODEL = "qwen3-asr-flash-realtime"
SNAPSHOT = "qwen3-asr-flash-realtime-2025-10-27"


def _issues(hass: HassProcess) -> list[dict[str, Any]]:
    issues = ws_call(hass, "repairs/list_issues")["issues"]
    return [issue for issue in issues if issue["domain"] == DOMAIN]


def _reconfigure_to(hass: HassProcess, flow: dict[str, Any], endpoint: str, model: str) -> None:
    values = account_input(flow, api_key=None, endpoint=endpoint)
    values.pop(KEY_FIELD, None)  # keep the key
    values["model"] = model
    done = hass.rest().flow_step(flow["flow_id"], values)
    assert (done["type"], done["reason"]) == ("abort", "reconfigure_successful"), done


def test_retired_model_raises_a_repair_that_leads_to_reconfigure(
    hass: HassProcess, live_emulator: EmulatorProcess
) -> None:
    rest = hass.rest()
    entry = add_qwen_entry(hass, live_emulator.url, API_KEY)
    try:
        # The entry uses a dated snapshot, which the service then retires.
        endpoint = diagnostics(hass, entry.entry_id)["entry"]["data"]["endpoint"]
        _reconfigure_to(hass, rest.start_flow(DOMAIN, entry_id=entry.entry_id), endpoint, SNAPSHOT)
        wait_until_loaded(hass, entry)
        live_emulator.restart(models=[DEFAULT_MODEL])
        rest.post(f"/api/config/config_entries/entry/{entry.entry_id}/reload")
        wait_for(lambda: entry_state(hass, entry.entry_id) == "setup_error", what="setup_error")

        [issue] = _issues(hass)
        assert issue["is_fixable"] is True
        assert issue["severity"] == "error"
        assert issue["translation_key"] == "model_refused"
        assert issue["translation_placeholders"]["model"] == SNAPSHOT
        assert issue["translation_key"] in translations()["issues"]
        assert not flows_in_progress(hass)  # no reauthentication: the key is fine

        step = rest.post(
            "/api/repairs/issues/fix", {"handler": DOMAIN, "issue_id": issue["issue_id"]}
        )
        assert (step["type"], step["step_id"]) == ("form", "confirm")
        done = rest.post(f"/api/repairs/issues/fix/{step['flow_id']}", {})
        assert done["type"] == "abort"
        assert _issues(hass), "the issue stays until the settings work"
        if "next_flow" in done:  # HA hands the repair over to the reconfigure dialog
            assert done["reason"] == "reconfigure_started"
            flow_type, flow_id = done["next_flow"]
            assert flow_type == "config_flow"
            reconfigure = rest.flow(flow_id)
        else:  # HA 2025.4: the text sends the user to Reconfigure, as the frontend does
            assert done["reason"] == "reconfigure_in_settings"
            reconfigure = rest.start_flow(DOMAIN, entry_id=entry.entry_id)
        assert (reconfigure["type"], reconfigure["step_id"]) == ("form", "reconfigure")
        _reconfigure_to(hass, reconfigure, endpoint, DEFAULT_MODEL)
        wait_until_loaded(hass, entry)
        wait_for(lambda: not _issues(hass), what="the issue removed")
    finally:
        rest.delete_entry(entry.entry_id)
