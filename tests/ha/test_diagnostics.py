"""Diagnostics: useful settings and the last session, never the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import CONF_CONTEXT
from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics

from .conftest import TEST_KEY


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
        "partial_results": hasattr(stt, "PartialSpeechResult"),
    }
    assert diagnostics["entry"]["data"]["endpoint"] == emulator.url
    assert diagnostics["options"][CONF_CONTEXT] == "<13 characters>"
    last = diagnostics["last_session"]
    assert last["session_id"] == emulator.sessions[-1].session_id
    assert last["audio_bytes"] == emulator.sessions[-1].audio_bytes
    assert last["sample_rate"] == 16000
    assert "error" not in last
