"""Diagnostics: useful settings and the last session, never the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from homeassistant.components import repairs, stt
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_asr.const import CONF_CONTEXT, DEFAULT_OPTIONS, SUBENTRY_STT
from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics

from .conftest import TEST_KEY, device_of, first_stt, stt_diagnostics


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
