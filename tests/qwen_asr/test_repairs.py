"""Failures by who can fix them: the settings (repair issue -> Reconfigure) or time (retry).

The rejected key (reauthentication) is tested in test_init and test_stt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from homeassistant.components import stt
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_asr import compat
from custom_components.qwen_asr.const import CONF_ENDPOINT, CONF_MODEL, DOMAIN
from custom_components.qwen_asr.realtime.const import DEFAULT_MODEL
from custom_components.qwen_asr.repairs import issue_id_for

from .conftest import until

RETIRED = "qwen3-asr-flash-realtime-2025-10-27"  # a dated snapshot, offered in the form


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id_for(entry.entry_id))


def _use_model(hass: HomeAssistant, entry: MockConfigEntry, model: str) -> None:
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_MODEL: model})


async def _set_up_with_a_retired_model(
    hass: HomeAssistant, emulator: Any, entry: MockConfigEntry
) -> None:
    emulator.models = frozenset({DEFAULT_MODEL})
    _use_model(hass, entry, RETIRED)
    assert not await hass.config_entries.async_setup(entry.entry_id)


@pytest.mark.parametrize("refusal", ["reject", "error"])
async def test_retired_model_at_setup_is_a_setup_error_with_a_repair(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, refusal: str
) -> None:
    """The service no longer knows the snapshot (refused at the upgrade, or by an error
    event): no retry loop, but a fixable issue naming the model."""
    emulator.models = frozenset({DEFAULT_MODEL})
    emulator.behaviour = dataclasses.replace(emulator.behaviour, unknown_model=refusal)
    _use_model(hass, config_entry, RETIRED)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = _issue(hass, config_entry)
    assert issue is not None and issue.is_fixable
    assert issue.translation_key == "model_refused"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["model"] == RETIRED
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)  # no reauth


async def test_invalid_endpoint_at_setup_is_a_setup_error_with_a_repair(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """Stored data the client refuses before connecting (clear text to another host)."""
    hass.config_entries.async_update_entry(
        config_entry,
        data={**config_entry.data, CONF_ENDPOINT: "ws://192.0.2.1:9/api-ws/v1/realtime"},
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = _issue(hass, config_entry)
    assert issue is not None and issue.translation_key == "invalid_settings"
    assert emulator.sessions == [] and emulator.rejected == []  # nothing was sent


async def test_an_endpoint_that_is_not_qwen_is_a_setup_error_with_a_repair(
    hass: HomeAssistant, config_entry: MockConfigEntry, not_qwen_url: str
) -> None:
    """A custom endpoint that answers, but not as Qwen: the user's URL to fix."""
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_ENDPOINT: not_qwen_url}
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = _issue(hass, config_entry)
    assert issue is not None and issue.translation_key == "not_qwen_service"


@pytest.mark.parametrize("fault", [{"reject_status": 500}, {"error_after_events": 1}])
async def test_service_failure_at_setup_is_retried_without_a_repair(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, fault: dict[str, Any]
) -> None:
    """The service refuses every model alike: its problem, so Home Assistant retries."""
    for name, value in fault.items():
        setattr(emulator.faults, name, value)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert _issue(hass, config_entry) is None


async def test_the_issue_goes_when_the_entry_works(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """Once the settings work (a reconfigure reloads the entry), the issue is removed."""
    await _set_up_with_a_retired_model(hass, emulator, config_entry)
    assert _issue(hass, config_entry) is not None
    _use_model(hass, config_entry, DEFAULT_MODEL)
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert _issue(hass, config_entry) is None


async def test_the_issue_goes_with_the_entry(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """Deleting the entry leaves no issue behind."""
    await _set_up_with_a_retired_model(hass, emulator, config_entry)
    assert await hass.config_entries.async_remove(config_entry.entry_id)
    assert _issue(hass, config_entry) is None


async def test_model_retired_while_loaded_raises_the_repair(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """The snapshot is retired after setup: the recognition fails and the issue appears."""
    _use_model(hass, setup_entry, RETIRED)
    emulator.models = frozenset({DEFAULT_MODEL})
    result = await recognize(speech_pcm("what_time_is_it"))
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    await hass.async_block_till_done(wait_background_tasks=True)
    issue = _issue(hass, setup_entry)
    assert issue is not None and issue.translation_key == "model_refused"
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_service_failure_while_loaded_raises_no_repair(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """A refused session that the default model gets too: the service's, not the user's."""
    _use_model(hass, setup_entry, RETIRED)
    emulator.faults.reject_status = 500
    result = await recognize(speech_pcm("what_time_is_it"))
    assert result == stt.SpeechResult(None, stt.SpeechResultState.ERROR)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _issue(hass, setup_entry) is None


async def test_fix_flow_leads_to_reconfigure(
    hass: HomeAssistant,
    emulator: Any,
    config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """The repair over the frontend's API: explanation, then the entry's reconfigure flow
    (handed over as ``next_flow`` where Home Assistant has it); the issue stays until the
    new settings work."""
    assert await async_setup_component(hass, "repairs", {})
    await _set_up_with_a_retired_model(hass, emulator, config_entry)
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": issue_id_for(config_entry.entry_id)},
    )
    assert response.status == HTTPStatus.OK
    step = await response.json()
    assert (step["type"], step["step_id"]) == ("form", "confirm")
    assert step["description_placeholders"]["model"] == RETIRED
    response = await client.post(f"/api/repairs/issues/fix/{step['flow_id']}", json={})
    assert response.status == HTTPStatus.OK
    done = await response.json()
    assert done["type"] == "abort"
    assert _issue(hass, config_entry) is not None  # still broken
    if not compat.HAS_REPAIRS_NEXT_FLOW:
        assert done["reason"] == "reconfigure_in_settings"
        return
    assert done["reason"] == "reconfigure_started"
    flow_type, flow_id = done["next_flow"]
    assert flow_type == "config_flow"
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["flow_id"] == flow_id
    assert flow["context"]["source"] == SOURCE_RECONFIGURE
    assert flow["context"]["entry_id"] == config_entry.entry_id
    result = await hass.config_entries.flow.async_configure(
        flow_id, {**config_entry.data, CONF_MODEL: DEFAULT_MODEL, "api_key": ""}
    )
    assert result["reason"] == "reconfigure_successful"
    await until(lambda: config_entry.state is ConfigEntryState.LOADED)
    assert _issue(hass, config_entry) is None


async def test_fix_flow_of_a_deleted_entry(
    hass: HomeAssistant,
    emulator: Any,
    config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """An issue left over (HA restored it) for an entry that no longer exists."""
    assert await async_setup_component(hass, "repairs", {})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id_for("gone"),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key="model_refused",
        translation_placeholders={"name": "x", "model": "y", "error": "z"},
        data={"entry_id": "gone"},
    )
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id_for("gone")}
    )
    result = await response.json()
    assert response.status == HTTPStatus.OK, result
    assert (result["type"], result.get("reason")) == ("abort", "entry_removed"), result
