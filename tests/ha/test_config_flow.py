"""Config flow: user, reauth, reconfigure and options, against the emulator."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from homeassistant import config_entries
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import (
    CONF_CONTEXT,
    CONF_ENDPOINT,
    CONF_ENDPOINTING,
    CONF_HOME_CONTEXT,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    CONF_VAD_MODE,
    CONF_VAD_THRESHOLD,
    DEFAULT_OPTIONS,
    DOMAIN,
    ENDPOINTING_HA,
    ENDPOINTING_QWEN,
    REGION_INTL,
    VAD_MANUAL,
    VAD_SERVER,
)
from custom_components.qwen_asr.helpers import unique_id_for
from custom_components.qwen_asr.realtime import Timeouts

from .conftest import TEST_KEY

CHECK = "custom_components.qwen_asr.config_flow.async_check_connection"


async def _user_flow(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


async def test_user_creates_entry(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """A working key creates the entry after a real session; the id does not hold the key."""
    result = await _user_flow(hass, {**entry_data, CONF_API_KEY: f"  {TEST_KEY} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["title"] == "Qwen ASR (Custom)"
    assert result["data"] == entry_data
    assert result["options"] == DEFAULT_OPTIONS
    entry = result["result"]
    assert TEST_KEY not in entry.unique_id
    assert entry.unique_id == unique_id_for(TEST_KEY, emulator.url)
    # The check opened a real session and closed it.
    assert len(emulator.sessions) == 1
    assert emulator.sessions[0].closed_at is not None


async def test_user_builtin_region_drops_endpoint(hass: HomeAssistant) -> None:
    """Singapore needs no URL; a URL typed anyway is not stored."""
    with patch(CHECK) as check:
        result = await _user_flow(
            hass,
            {
                CONF_API_KEY: "sk-abc",
                CONF_REGION: REGION_INTL,
                CONF_ENDPOINT: "wss://ignored.example",
                CONF_MODEL: "qwen3-asr-flash-realtime",
            },
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Qwen ASR (Singapore)"
    assert CONF_ENDPOINT not in result["data"]
    assert check.call_args.args[0][CONF_REGION] == REGION_INTL
    # Same key, other region: a different account identity.
    assert result["result"].unique_id != unique_id_for("sk-abc", "cn")


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_API_KEY: "wrong-key"}, {"base": "invalid_auth"}),
        ({CONF_ENDPOINT: "ws://127.0.0.1:1/api-ws/v1/realtime"}, {"base": "cannot_connect"}),
        ({CONF_ENDPOINT: "https://not-a-websocket.example"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: ""}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_MODEL: "bad model?"}, {CONF_MODEL: "invalid_model"}),
    ],
)
async def test_user_errors_then_recover(
    hass: HomeAssistant,
    emulator: Any,
    entry_data: dict[str, Any],
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each failure shows its error on the form; fixing the input then succeeds."""
    result = await _user_flow(hass, {**entry_data, **changes})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(result["flow_id"], entry_data)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_unknown_error_is_logged(
    hass: HomeAssistant, entry_data: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Anything unexpected is 'unknown' and logged, without the key."""
    with patch(CHECK, side_effect=RuntimeError("boom")):
        result = await _user_flow(hass, entry_data)
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error" in caplog.text
    assert TEST_KEY not in caplog.text


async def test_user_timeout_is_cannot_connect(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """A service that accepts but never answers counts as unreachable."""
    emulator.faults.stall = True
    with patch("custom_components.qwen_asr.helpers.Timeouts", return_value=Timeouts(setup=0.2)):
        result = await _user_flow(hass, entry_data)
    assert result["errors"] == {"base": "cannot_connect"}


async def test_user_already_configured(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """The same key and region cannot be added twice."""
    result = await _user_flow(hass, entry_data)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reauth(hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry) -> None:
    """A new key is checked, stored, and the unique id follows it."""
    emulator.api_keys = frozenset({TEST_KEY, "new-key"})
    result = await config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": config_entry.title}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "bad"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the entry reloads in the background
    assert config_entry.data[CONF_API_KEY] == "new-key"
    assert config_entry.unique_id == unique_id_for("new-key", emulator.url)


async def test_reauth_to_other_entrys_account(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """Reauthenticating with a key that another entry already uses is refused."""
    emulator.api_keys = frozenset({TEST_KEY, "other-key"})
    other = MockConfigEntry(
        domain=DOMAIN,
        data={**entry_data, CONF_API_KEY: "other-key"},
        unique_id=unique_id_for("other-key", emulator.url),
    )
    other.add_to_hass(hass)
    result = await config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "other-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert config_entry.data[CONF_API_KEY] == TEST_KEY


async def test_reconfigure_keeps_key_changes_model(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """An empty key keeps the stored one; the model changes; errors show on the form."""
    result = await config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data, CONF_API_KEY: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    new_model = "qwen3-asr-flash-realtime-2026-02-10"
    user_input = {k: v for k, v in entry_data.items() if k != CONF_API_KEY}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_MODEL: new_model}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()  # the entry reloads in the background
    assert config_entry.data == {**entry_data, CONF_MODEL: new_model}
    assert emulator.sessions[-1].model == new_model


async def test_reconfigure_region(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """Moving to Beijing drops the custom URL and renames the entry."""
    result = await config_entry.start_reconfigure_flow(hass)
    with patch(CHECK):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_API_KEY: "sk-cn", CONF_REGION: "cn", CONF_MODEL: "qwen3-asr-flash-realtime"},
        )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()  # the entry reloads in the background
    assert config_entry.data == {
        CONF_API_KEY: "sk-cn",
        CONF_REGION: "cn",
        CONF_MODEL: "qwen3-asr-flash-realtime",
    }
    assert config_entry.title == "Qwen ASR (Beijing)"
    assert config_entry.unique_id == unique_id_for("sk-cn", "cn")


async def test_options_flow(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """Every option is stored; invalid combinations show errors first."""
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert schema_keys == {
        CONF_LANGUAGE,
        CONF_ENDPOINTING,
        CONF_VAD_MODE,
        CONF_VAD_THRESHOLD,
        CONF_SILENCE_MS,
        CONF_HOME_CONTEXT,
        CONF_CONTEXT,
    }
    base = {
        CONF_LANGUAGE: "yue",
        CONF_ENDPOINTING: ENDPOINTING_QWEN,
        CONF_VAD_MODE: VAD_MANUAL,
        CONF_VAD_THRESHOLD: 0.0,
        CONF_SILENCE_MS: 400,
        CONF_HOME_CONTEXT: False,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], base)
    assert result["errors"] == {CONF_ENDPOINTING: "qwen_endpointing_needs_vad"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_VAD_MODE: VAD_SERVER, CONF_CONTEXT: "x" * 10_001}
    )
    assert result["errors"] == {CONF_CONTEXT: "context_too_long"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**base, CONF_ENDPOINTING: ENDPOINTING_HA, CONF_CONTEXT: " Ada\nGrace \n"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert config_entry.options == {
        **base,
        CONF_ENDPOINTING: ENDPOINTING_HA,
        CONF_CONTEXT: "Ada\nGrace",
    }
    # Clearing the optional context field stores an empty context.
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], base | {CONF_VAD_MODE: VAD_SERVER}
    )
    assert config_entry.options[CONF_CONTEXT] == ""
