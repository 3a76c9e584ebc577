"""Diagnostics: useful settings and the last session, never the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from homeassistant.components import repairs, stt
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_asr.const import CONF_CONTEXT, DEFAULT_OPTIONS, DOMAIN, SUBENTRY_STT
from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics
from custom_components.qwen_asr.models import FallbackSummary, SessionSummary
from custom_components.qwen_asr.realtime import ConfigError
from custom_components.qwen_asr.repairs import issue_id_for

from .conftest import TEST_KEY, device_of, first_stt, stt_diagnostics

SETUP_CHECK = "custom_components.qwen_asr.async_check_connection"


async def test_diagnostics_redact_the_key(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    set_options: Callable[..., None],
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """The key is redacted, the context is reduced to its size."""
    set_options(setup_entry, **{CONF_CONTEXT: "private words"})
    await recognize(speech_pcm("what_time_is_it"))
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_entry)
    dumped = json.dumps(diagnostics)
    assert TEST_KEY not in dumped
    assert "private words" not in dumped
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert diagnostics["home_assistant_features"] == {
        "audio_processing": hasattr(stt, "DEFAULT_AUDIO_PROCESSING"),
        "partial_results": {
            "yielded_to_home_assistant": hasattr(stt, "PartialSpeechResult"),
            "shown_by_assist_pipeline": False,
        },
        "repair_opens_reconfigure": hasattr(repairs, "FlowType"),
    }
    assert diagnostics["entry"]["data"]["endpoint"] == emulator.url
    assert diagnostics["version"] == "2.1"
    subentry = stt_diagnostics(diagnostics)
    assert subentry["subentry_id"] == first_stt(setup_entry).subentry_id
    assert subentry["title"] == "Qwen ASR (Custom)"
    assert subentry["settings"][CONF_CONTEXT] == "<13 characters>"
    last = subentry["last_session"]
    assert last["session_id"] == emulator.sessions[-1].session_id
    assert last["audio_bytes"] == emulator.sessions[-1].audio_bytes
    assert last["sample_rate"] == 16000
    assert "error" not in last


async def test_diagnostics_of_an_entry_whose_setup_failed(
    hass: HomeAssistant,
    emulator: Any,
    config_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """A rejected key at setup: diagnostics still download, naming the failure, no key."""
    emulator.api_keys = frozenset({"another-key"})
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    assert TEST_KEY not in json.dumps(diagnostics)
    assert diagnostics["state"] == "setup_error"
    assert "API key" in str(diagnostics["setup_error"])
    assert diagnostics["entry"]["data"]["endpoint"] == emulator.url
    assert stt_diagnostics(diagnostics)["last_session"] == {}
    assert stt_diagnostics(diagnostics)["fallback_breaker"] is None
    assert diagnostics["home_context_lines"] is None


async def test_diagnostics_of_an_unloaded_entry(
    hass: HomeAssistant,
    setup_entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """Unloaded (as for the moment of every reload): the settings, no session data."""
    assert await hass.config_entries.async_unload(setup_entry.entry_id)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, setup_entry)
    assert diagnostics["state"] == "not_loaded"
    assert diagnostics["setup_error"] is None
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    assert stt_diagnostics(diagnostics)["last_session"] == {}


async def test_diagnostics_of_each_speech_to_text_device(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    recognize: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
    hass_client: ClientSessionGenerator,
) -> None:
    """Each speech-to-text has its own device; its diagnostics show its settings and its
    latest session only, with the account (key redacted)."""
    hass.config_entries.async_add_subentry(
        setup_entry,
        ConfigSubentry(
            data=MappingProxyType({**DEFAULT_OPTIONS, CONF_CONTEXT: "secret"}),
            subentry_type=SUBENTRY_STT,
            title="Second",
            unique_id=None,
        ),
    )
    await hass.async_block_till_done()  # the entry reloads with the second entity
    await recognize(speech_pcm("what_time_is_it"))  # the first one answers
    for subentry in setup_entry.subentries.values():
        device = device_of(hass, setup_entry, subentry.subentry_id)
        assert device is not None
        diagnostics = await get_diagnostics_for_device(hass, hass_client, setup_entry, device)
        assert TEST_KEY not in json.dumps(diagnostics)
        [only] = diagnostics["speech_to_text"]
        assert only["subentry_id"] == subentry.subentry_id and only["title"] == subentry.title
        answered = subentry.subentry_id == first_stt(setup_entry).subentry_id
        assert bool(only["last_session"]) is answered
        assert only["settings"][CONF_CONTEXT] == (
            "<0 characters>" if answered else "<6 characters>"
        )


# What websockets raised for a key file with a second line before keys were checked: its
# error quotes the whole Authorization header.
QUOTED_HEADER = (
    "Cannot connect to 127.0.0.1: InvalidHeaderValue: invalid Authorization header: "
    f"Bearer {TEST_KEY}\n# my DashScope key"
)


async def test_an_error_quoting_the_key_reaches_no_setup_error_repair_or_diagnostics(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """Setup fails with an HTTP-layer error that quotes the header: the entry's reason,
    the repair issue and diagnostics carry neither the key nor the header's value."""
    with patch(SETUP_CHECK, side_effect=ConfigError(QUOTED_HEADER)):
        assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id_for(config_entry.entry_id))
    assert issue is not None and issue.translation_placeholders is not None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, config_entry)
    for channel in (str(config_entry.reason), issue.translation_placeholders["error"]):
        assert "invalid Authorization header: ***" in channel
    for channel in (
        str(config_entry.reason),
        json.dumps(issue.translation_placeholders),
        json.dumps(diagnostics),
    ):
        assert TEST_KEY not in channel and "# my DashScope key" not in channel


async def test_session_and_breaker_failures_in_diagnostics_are_redacted(
    hass: HomeAssistant, setup_entry: MockConfigEntry
) -> None:
    """The last session's error and the breaker's reason pass the same boundary."""
    state = setup_entry.runtime_data.state_of(first_stt(setup_entry).subentry_id)
    state.last_session = SessionSummary(sample_rate=16000, error=QUOTED_HEADER)
    state.last_fallback = FallbackSummary(
        entity_id="stt.other", reason=QUOTED_HEADER, at="now", audio_bytes_held=0
    )
    state.breaker.record_failure(f"QwenConnectionError: {QUOTED_HEADER}")
    diagnostics = stt_diagnostics(await async_get_config_entry_diagnostics(hass, setup_entry))
    assert TEST_KEY not in json.dumps(diagnostics)
    assert diagnostics["last_session"]["error"].endswith("invalid Authorization header: ***")
    assert diagnostics["last_fallback"]["reason"] == (
        "Cannot connect to 127.0.0.1: InvalidHeaderValue: invalid Authorization header: ***"
    )
    assert diagnostics["fallback_breaker"]["last_failure"].endswith("header: ***")


async def test_an_entry_stored_with_a_malformed_key_gets_a_repair_that_never_shows_it(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """A key stored before keys were checked (a second line): the client refuses it before
    connecting; the repair names the problem, nothing is sent."""
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_API_KEY: f"{TEST_KEY}\n# comment"}
    )
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id_for(config_entry.entry_id))
    assert issue is not None and issue.translation_key == "invalid_settings"
    assert issue.translation_placeholders is not None
    assert "it has 2 lines" in issue.translation_placeholders["error"]
    assert TEST_KEY not in json.dumps(issue.translation_placeholders)
    assert TEST_KEY not in str(config_entry.reason)
    assert emulator.sessions == [] and emulator.rejected == []
