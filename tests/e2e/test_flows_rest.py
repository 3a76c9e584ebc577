"""The integration's config and reconfigure flows, and its speech-to-text subentry flows, through
HA's REST flow API (what the frontend's dialogs call), against the emulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.e2e.entries import (
    Entry,
    add_qwen_entry,
    diagnostics,
    stt_settings,
    subentries_of,
    wait_until_loaded,
    ws_call,
)
from tests.support.e2e.flows import (
    DOMAIN,
    KEY_FIELD,
    STT_FLOW,
    SUBENTRY_TYPE,
    abort_text,
    account_input,
    error_text,
    form_input,
    schema_fields,
    select_options,
    step_texts,
)
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.services import EmulatorProcess

from .conftest import API_KEY, WRONG_KEY


@pytest.fixture
def qwen_entry(hass: HassProcess, live_emulator: EmulatorProcess) -> Iterator[Entry]:
    entry = add_qwen_entry(hass, live_emulator.url, API_KEY)
    yield entry
    hass.rest().delete_entry(entry.entry_id)


def test_user_flow_wrong_key_then_entry_and_entity(
    hass: HassProcess, live_emulator: EmulatorProcess
) -> None:
    rest = hass.rest()
    form = rest.start_flow(DOMAIN)
    assert (form["type"], form["step_id"]) == ("form", "user")
    texts = step_texts("config", "user", form.get("description_placeholders") or {})
    assert set(schema_fields(form)) <= set(texts.labels), "every field needs a label in en.json"

    wrong = rest.flow_step(
        form["flow_id"], account_input(form, api_key=WRONG_KEY, endpoint=live_emulator.url)
    )
    assert (wrong["type"], wrong["errors"]) == ("form", {"base": "invalid_auth"})
    assert error_text("config", "invalid_auth")

    created = rest.flow_step(
        form["flow_id"], account_input(wrong, api_key=API_KEY, endpoint=live_emulator.url)
    )
    assert created["type"] == "create_entry", created
    entry_id = created["result"]["entry_id"]
    try:
        entries = rest.entries(DOMAIN)
        assert [(e["entry_id"], e["state"]) for e in entries] == [(entry_id, "loaded")]
        entity = next(
            e
            for e in ws_call(hass, "config/entity_registry/list")
            if e.get("config_entry_id") == entry_id
        )
        assert entity["entity_id"].startswith("stt.")
        assert rest.state(entity["entity_id"])["state"] == "unknown"  # never used yet
        # The same account again is refused.
        again = rest.start_flow(DOMAIN)
        duplicate = rest.flow_step(
            again["flow_id"], account_input(again, api_key=API_KEY, endpoint=live_emulator.url)
        )
        assert (duplicate["type"], duplicate["reason"]) == ("abort", "already_configured")
        assert abort_text("config", "already_configured")
    finally:
        rest.delete_entry(entry_id)


def test_unreachable_service_is_cannot_connect(
    hass: HassProcess, live_emulator: EmulatorProcess
) -> None:
    rest = hass.rest()
    form = rest.start_flow(DOMAIN)
    live_emulator.stop()
    result = rest.flow_step(
        form["flow_id"], account_input(form, api_key=API_KEY, endpoint=live_emulator.url)
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert error_text("config", "cannot_connect")
    rest.abort_flow(form["flow_id"])


def test_reconfigure_keeps_key_and_changes_model(hass: HassProcess, qwen_entry: Entry) -> None:
    rest = hass.rest()
    form = rest.start_flow(DOMAIN, entry_id=qwen_entry.entry_id)
    assert (form["type"], form["step_id"]) == ("form", "reconfigure")
    assert set(schema_fields(form)) <= set(step_texts("config", "reconfigure").labels)
    endpoint = diagnostics(hass, qwen_entry.entry_id)["entry"]["data"]["endpoint"]
    wrong = rest.flow_step(
        form["flow_id"], account_input(form, api_key=WRONG_KEY, endpoint=endpoint)
    )
    assert wrong["errors"] == {"base": "invalid_auth"}

    current = diagnostics(hass, qwen_entry.entry_id)["entry"]["data"]["model"]
    other = next(m for m in select_options(form, "model") if m != current)
    values = account_input(wrong, api_key=None, endpoint=endpoint)
    values.pop(KEY_FIELD, None)  # empty: keep the current key
    values["model"] = other
    done = rest.flow_step(form["flow_id"], values)
    assert (done["type"], done["reason"]) == ("abort", "reconfigure_successful")
    assert abort_text("config", "reconfigure_successful")
    # The flow ends before the reload it schedules; the entry comes back with the new model
    # (its setup check opens a session with it, with the key that was kept).
    wait_until_loaded(hass, qwen_entry)
    data = diagnostics(hass, qwen_entry.entry_id)["entry"]["data"]
    assert data["model"] == other
    assert data[KEY_FIELD] != API_KEY  # redacted
    assert rest.entries(DOMAIN)[0]["state"] == "loaded"


def test_speech_to_text_settings_change_language(hass: HassProcess, qwen_entry: Entry) -> None:
    """The entry's one speech-to-text (made at setup, named like the entry) takes a new
    language through its reconfigure flow."""
    (subentry,) = subentries_of(hass, qwen_entry.entry_id)
    assert (subentry["subentry_type"], subentry["title"]) == (SUBENTRY_TYPE, qwen_entry.title)
    rest = hass.rest()
    form = rest.start_subentry_flow(qwen_entry.entry_id, SUBENTRY_TYPE, qwen_entry.subentry_id)
    assert (form["type"], form["step_id"]) == ("form", "reconfigure")
    texts = step_texts(STT_FLOW, "reconfigure", form.get("description_placeholders") or {})
    assert set(schema_fields(form)) <= set(texts.labels)
    languages = select_options(form, "language")
    assert "de" in languages
    done = rest.subentry_step(form["flow_id"], form_input(form, {"language": "de"}))
    assert (done["type"], done["reason"]) == ("abort", "reconfigure_successful"), done
    assert abort_text(STT_FLOW, "reconfigure_successful")
    assert stt_settings(hass, qwen_entry)["language"] == "de"
