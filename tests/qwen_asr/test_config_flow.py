"""Config flow: user, reauth, reconfigure and speech-to-text subentries, against the emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
from homeassistant import config_entries
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.const import (
    CONF_ALLOW_INSECURE,
    CONF_CONTEXT,
    CONF_ENDPOINT,
    CONF_ENDPOINTING,
    CONF_FALLBACK_STT,
    CONF_HOME_CONTEXT,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    CONF_VAD_MODE,
    CONF_VAD_THRESHOLD,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    REGION_INTL,
    SUBENTRY_STT,
    VAD_MANUAL,
)
from custom_components.qwen_asr.helpers import make_client
from custom_components.qwen_asr.realtime import (
    ENDPOINTING_HOME_ASSISTANT,
    ENDPOINTING_QWEN,
    VAD_SERVER,
    SessionConfig,
    Timeouts,
)
from wyoming_server.emulator import Behaviour

from .conftest import (
    TEST_KEY,
    device_subentries,
    first_stt,
    stt_entity_id,
    stt_subentry_data,
)

CHECK = "custom_components.qwen_asr.account.async_check_connection"
SETUP_CHECK = "custom_components.qwen_asr.async_check_connection"
SNAPSHOT = "qwen3-asr-flash-realtime-2026-02-10"
UNKNOWN_MODEL = "qwen3-asr-flash-realtime-1999-01-01"


async def _user_flow(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], user_input))


@pytest.fixture
def offline_check() -> Iterator[MagicMock]:
    """The flow's account check (returned) and the setup's pass without a network."""
    with patch(CHECK) as check, patch(SETUP_CHECK):
        yield check


async def test_user_creates_entry(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """A working key creates the entry after a real session; nothing is derived from it."""
    result = await _user_flow(hass, {**entry_data, CONF_API_KEY: f"  {TEST_KEY} "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert result["title"] == "Qwen ASR (Custom)"
    assert result["data"] == entry_data
    entry = result["result"]
    assert entry.options == {}  # the settings belong to the speech-to-text subentry
    [subentry] = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_STT
    assert subentry.title == "Qwen ASR (Custom)"  # the entity id is the entry's name
    assert subentry.data == DEFAULT_OPTIONS
    assert stt_entity_id(hass, entry) == "stt.qwen_asr_custom"
    assert entry.unique_id is None  # the identity is the entry, not a hash of the key
    assert (entry.version, entry.minor_version) == (2, 1)
    # The check opened a real session and closed it; setting up the entry opened another.
    assert len(emulator.sessions) == 2
    assert all(session.audio_bytes == 0 for session in emulator.sessions)
    assert emulator.sessions[0].closed_at is not None


async def test_user_builtin_region_drops_endpoint(
    hass: HomeAssistant, offline_check: MagicMock
) -> None:
    """Singapore needs no URL; a URL typed anyway, and its ws:// choice, are not stored."""
    result = await _user_flow(
        hass,
        {
            CONF_API_KEY: "sk-abc",
            CONF_REGION: REGION_INTL,
            CONF_ENDPOINT: "ws://192.0.2.1/ignored",
            CONF_ALLOW_INSECURE: True,
            CONF_MODEL: "qwen3-asr-flash-realtime",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Qwen ASR (Singapore)"
    assert result["data"] == {
        CONF_API_KEY: "sk-abc",
        CONF_REGION: REGION_INTL,
        CONF_MODEL: "qwen3-asr-flash-realtime",
    }
    assert offline_check.call_args.args[0][CONF_REGION] == REGION_INTL


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_API_KEY: "wrong-key"}, {"base": "invalid_auth"}),
        ({CONF_API_KEY: "   "}, {CONF_API_KEY: "empty_api_key"}),
        ({CONF_ENDPOINT: "ws://127.0.0.1:1/api-ws/v1/realtime"}, {"base": "cannot_connect"}),
        ({CONF_ENDPOINT: "https://not-a-websocket.example"}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: ""}, {CONF_ENDPOINT: "invalid_endpoint"}),
        ({CONF_ENDPOINT: "ws://192.0.2.1:9/x"}, {CONF_ENDPOINT: "insecure_endpoint"}),
        ({CONF_MODEL: "bad model?"}, {CONF_MODEL: "invalid_model"}),
        ({CONF_MODEL: UNKNOWN_MODEL}, {CONF_MODEL: "invalid_model"}),
    ],
)
async def test_user_errors_then_recover(
    hass: HomeAssistant,
    emulator: Any,
    entry_data: dict[str, Any],
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each failure shows its own error on the form; fixing the input then succeeds."""
    result = await _user_flow(hass, {**entry_data, **changes})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    result = await hass.config_entries.flow.async_configure(result["flow_id"], entry_data)
    assert result["type"] is FlowResultType.CREATE_ENTRY


# Keys as a paste or a key file can garble them, and what the form says about each.
MALFORMED_KEYS = [
    (f"{TEST_KEY}\n# my DashScope key", "it has 2 lines"),
    (f"test\u200b{TEST_KEY}", "character 5 is a zero-width space (U+200B)"),
    (f"test\u0416{TEST_KEY}", "character 5 is a non-ASCII letter"),
]


@pytest.mark.parametrize(("key", "problem"), MALFORMED_KEYS)
async def test_a_key_that_is_not_one_line_of_printable_ascii_is_refused_on_the_form(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any], key: str, problem: str
) -> None:
    """The form names where the key is broken, never the key; no session is opened."""
    result = await _user_flow(hass, {**entry_data, CONF_API_KEY: key})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    assert problem in result["description_placeholders"]["key_problem"]
    assert TEST_KEY not in json.dumps(result["description_placeholders"])
    assert emulator.sessions == [] and emulator.rejected == []
    result = await hass.config_entries.flow.async_configure(result["flow_id"], entry_data)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(("key", "problem"), MALFORMED_KEYS)
async def test_reauth_and_reconfigure_refuse_a_malformed_key(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, key: str, problem: str
) -> None:
    """The same check in the other dialogs that take a key; the stored key stays."""
    result = await config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API_KEY: key})
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    assert problem in result["description_placeholders"]["key_problem"]
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**config_entry.data, CONF_API_KEY: key}
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_api_key_format"}
    assert TEST_KEY not in json.dumps(result["description_placeholders"])
    assert config_entry.data[CONF_API_KEY] == TEST_KEY
    assert emulator.sessions == [] and emulator.rejected == []


@pytest.mark.parametrize(
    "changes",
    [{CONF_API_KEY: "  "}, {CONF_ENDPOINT: "ws://192.0.2.1:9/x"}, {CONF_MODEL: "bad model?"}],
)
async def test_local_errors_open_no_session(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any], changes: dict[str, Any]
) -> None:
    """A blank key, an insecure endpoint or a malformed model never reach the network."""
    await _user_flow(hass, {**entry_data, **changes})
    assert emulator.sessions == [] and emulator.rejected == []


async def test_unknown_model_refused_by_error_event(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """A service that accepts the socket and then reports the model is also invalid_model."""
    emulator.behaviour = Behaviour.from_env(unknown_model="error")
    result = await _user_flow(hass, {**entry_data, CONF_MODEL: UNKNOWN_MODEL})
    assert result["errors"] == {CONF_MODEL: "invalid_model"}
    # One session with the model, one with the default model to find the cause.
    assert [session.model for session in emulator.sessions] == [
        UNKNOWN_MODEL,
        "qwen3-asr-flash-realtime",
    ]


@pytest.mark.parametrize(("status", "model"), [(500, "qwen3-asr-flash-realtime"), (404, SNAPSHOT)])
async def test_refused_session_is_a_service_error(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any], status: int, model: str
) -> None:
    """A refusal that is not about the model shows the service's answer, not 'unknown'."""
    emulator.faults.reject_status = status
    result = await _user_flow(hass, {**entry_data, CONF_MODEL: model})
    assert result["errors"] == {"base": "service_error"}
    assert f"refused the session: HTTP {status}" in result["description_placeholders"]["error"]
    assert TEST_KEY not in json.dumps(result["description_placeholders"])


async def test_not_a_qwen_service(
    hass: HomeAssistant, entry_data: dict[str, Any], not_qwen_url: str
) -> None:
    """An endpoint that speaks WebSocket but not the Qwen protocol says so."""
    result = await _user_flow(hass, {**entry_data, CONF_ENDPOINT: not_qwen_url})
    assert result["errors"] == {"base": "not_qwen_service"}


async def test_user_unknown_error_is_logged(
    hass: HomeAssistant, entry_data: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Only the unexpected is 'unknown', and it is logged, without the key."""
    with patch(CHECK, side_effect=RuntimeError("boom")):
        result = await _user_flow(hass, entry_data)
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error" in caplog.text
    assert TEST_KEY not in caplog.text


async def test_user_timeout(hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]) -> None:
    """A service that accepts but never answers has timed out."""
    emulator.faults.stall = True
    with patch("custom_components.qwen_asr.helpers.Timeouts", return_value=Timeouts(setup=0.2)):
        result = await _user_flow(hass, entry_data)
    assert result["errors"] == {"base": "timeout_connect"}


async def test_unencrypted_connection_when_ticked(
    hass: HomeAssistant, entry_data: dict[str, Any], offline_check: MagicMock
) -> None:
    """Ticking the option allows ws:// to another machine, and the entry remembers it."""
    remote = "ws://192.0.2.1:9/api-ws/v1/realtime"
    user_input = {**entry_data, CONF_ENDPOINT: remote, CONF_ALLOW_INSECURE: True}
    result = await _user_flow(hass, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_ALLOW_INSECURE] is True
    assert offline_check.call_args.args[0][CONF_ENDPOINT] == remote
    # The entry's data makes a client that accepts the endpoint.
    assert make_client(result["data"], SessionConfig()).url == remote


async def test_custom_endpoint_is_stored_resolved(hass: HomeAssistant, emulator: Any) -> None:
    """A bare host gets the standard path, so the same endpoint matches however typed."""
    host = emulator.url.removesuffix("/api-ws/v1/realtime")
    data = {
        CONF_API_KEY: TEST_KEY,
        CONF_REGION: REGION_CUSTOM,
        CONF_ENDPOINT: host + "/",
        CONF_MODEL: "qwen3-asr-flash-realtime",
    }
    result = await _user_flow(hass, data)
    assert result["data"][CONF_ENDPOINT] == emulator.url
    result = await _user_flow(hass, {**data, CONF_ENDPOINT: emulator.url})
    assert result["type"] is FlowResultType.ABORT


async def test_user_already_configured_before_any_session(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """The same key at the same endpoint aborts at once, without opening a session."""
    result = await _user_flow(hass, {**entry_data, CONF_MODEL: SNAPSHOT})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert emulator.sessions == []


async def test_same_key_elsewhere_or_other_key_is_another_account(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    entry_data: dict[str, Any],
    offline_check: MagicMock,
) -> None:
    """Another endpoint for the same key, or another key, is a new entry."""
    other_region = await _user_flow(
        hass, {**entry_data, CONF_REGION: REGION_INTL, CONF_ENDPOINT: ""}
    )
    other_key = await _user_flow(hass, {**entry_data, CONF_API_KEY: "sk-other"})
    assert other_region["type"] is FlowResultType.CREATE_ENTRY
    assert other_key["type"] is FlowResultType.CREATE_ENTRY


async def test_reauth_replaces_only_the_key(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """A rotated key is checked and stored; identity, title and the rest stay."""
    hass.config_entries.async_update_entry(config_entry, title="Kitchen speech")
    emulator.api_keys = frozenset({TEST_KEY, "new-key"})
    result = await config_entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": "Kitchen speech"}

    for bad, errors in (
        ("bad", {"base": "invalid_auth"}),
        (" ", {CONF_API_KEY: "empty_api_key"}),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_API_KEY: bad}
        )
        assert result["errors"] == errors

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: " new-key "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the entry reloads in the background
    assert config_entry.data == {**entry_data, CONF_API_KEY: "new-key"}
    assert config_entry.title == "Kitchen speech"
    assert config_entry.unique_id is None
    assert hass.config_entries.async_entries(DOMAIN) == [config_entry]


async def test_reauth_with_the_same_key(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry
) -> None:
    """The entry's own key again is not 'already configured': it is checked."""
    result = await config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: TEST_KEY}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the entry reloads in the background


async def test_reauth_to_other_entrys_account(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """Reauthenticating with a key that another entry uses here is refused, unchecked."""
    emulator.api_keys = frozenset({TEST_KEY, "other-key"})
    MockConfigEntry(domain=DOMAIN, data={**entry_data, CONF_API_KEY: "other-key"}).add_to_hass(hass)
    result = await config_entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "other-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert config_entry.data[CONF_API_KEY] == TEST_KEY
    assert emulator.sessions == []


async def test_reconfigure_keeps_key_changes_model(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """An empty (or blank) key keeps the stored one; the model changes; errors show."""
    result = await config_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data, CONF_API_KEY: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    user_input = {k: v for k, v in entry_data.items() if k != CONF_API_KEY}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_API_KEY: "  ", CONF_MODEL: SNAPSHOT}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()  # the entry reloads in the background
    assert config_entry.data == {**entry_data, CONF_MODEL: SNAPSHOT}
    assert emulator.sessions[-1].model == SNAPSHOT


@pytest.mark.parametrize(
    ("title", "new_title"),
    [
        ("Qwen ASR (Custom)", "Qwen ASR (Beijing)"),  # automatic: follows the region
        ("Living room ears", "Living room ears"),  # the user's own: kept
    ],
)
async def test_reconfigure_region_and_the_title(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    offline_check: MagicMock,
    title: str,
    new_title: str,
) -> None:
    """Moving to Beijing drops the custom URL; only an automatic title follows the region."""
    hass.config_entries.async_update_entry(config_entry, title=title)
    result = await config_entry.start_reconfigure_flow(hass)
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
    assert config_entry.title == new_title


async def test_reconfigure_to_other_entrys_account(
    hass: HomeAssistant, emulator: Any, config_entry: MockConfigEntry, entry_data: dict[str, Any]
) -> None:
    """Reconfiguring onto the key and endpoint of another entry is refused."""
    other = {**entry_data, CONF_API_KEY: "other-key"}
    MockConfigEntry(domain=DOMAIN, data=other).add_to_hass(hass)
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], other)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert config_entry.data[CONF_API_KEY] == TEST_KEY


async def _stt_flow(
    hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str | None = None
) -> Any:
    """Start adding a speech-to-text (or, with ``subentry_id``, reconfiguring one)."""
    context: dict[str, str] = {"source": config_entries.SOURCE_USER}
    if subentry_id is not None:
        context = {"source": config_entries.SOURCE_RECONFIGURE, "subentry_id": subentry_id}
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_STT), context=context
    )


async def test_subentry_reconfigure_stores_every_setting(
    hass: HomeAssistant, emulator: Any, setup_entry: MockConfigEntry
) -> None:
    """Every setting is stored; invalid combinations show errors first; no reload."""
    subentry = first_stt(setup_entry)
    entity = hass.data["entity_components"]["stt"].get_entity(stt_entity_id(hass, setup_entry))
    sessions = len(emulator.sessions)
    result = await _stt_flow(hass, setup_entry, subentry.subentry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert schema_keys == {
        CONF_LANGUAGE,
        CONF_ENDPOINTING,
        CONF_VAD_MODE,
        CONF_VAD_THRESHOLD,
        CONF_SILENCE_MS,
        CONF_HOME_CONTEXT,
        CONF_CONTEXT,
        CONF_FALLBACK_STT,
    }
    base = {
        CONF_LANGUAGE: "yue",
        CONF_ENDPOINTING: ENDPOINTING_QWEN,
        CONF_VAD_MODE: VAD_MANUAL,
        CONF_VAD_THRESHOLD: 0.0,
        CONF_SILENCE_MS: 400,
        CONF_HOME_CONTEXT: False,
    }
    configure = hass.config_entries.subentries.async_configure
    result = await configure(result["flow_id"], base)
    assert result["errors"] == {CONF_ENDPOINTING: "qwen_endpointing_needs_vad"}

    result = await configure(
        result["flow_id"], {**base, CONF_VAD_MODE: VAD_SERVER, CONF_CONTEXT: "x" * 10_001}
    )
    assert result["errors"] == {CONF_CONTEXT: "context_too_long"}

    result = await configure(
        result["flow_id"],
        {**base, CONF_ENDPOINTING: ENDPOINTING_HOME_ASSISTANT, CONF_CONTEXT: " Ada\nGrace \n"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert first_stt(setup_entry).data == {
        **base,
        CONF_ENDPOINTING: ENDPOINTING_HOME_ASSISTANT,
        CONF_CONTEXT: "Ada\nGrace",
    }
    # Clearing the optional context field stores an empty context.
    result = await _stt_flow(hass, setup_entry, subentry.subentry_id)
    result = await configure(result["flow_id"], base | {CONF_VAD_MODE: VAD_SERVER})
    assert first_stt(setup_entry).data[CONF_CONTEXT] == ""
    await hass.async_block_till_done()
    # Settings are read at each recognition: the same entity, no session to re-check.
    assert len(emulator.sessions) == sessions
    assert hass.data["entity_components"]["stt"].get_entity(entity.entity_id) is entity


async def test_user_step_offers_the_home_names_choice(
    hass: HomeAssistant, offline_check: MagicMock, entry_data: dict[str, Any]
) -> None:
    """The setup step says that names can be sent and lets the user choose; the choice is
    stored where the speech-to-text dialog's switch reads it."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_HOME_CONTEXT].default() is True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**entry_data, CONF_HOME_CONTEXT: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert first_stt(entry).data == {**DEFAULT_OPTIONS, CONF_HOME_CONTEXT: False}
    assert CONF_HOME_CONTEXT not in result["data"]
    await hass.async_block_till_done()
    settings = await _stt_flow(hass, entry, first_stt(entry).subentry_id)
    switch = next(k for k in settings["data_schema"].schema if k == CONF_HOME_CONTEXT)
    assert switch.description["suggested_value"] is False  # the switch shows the choice


async def test_settings_offer_the_other_stt_entities_as_fallback(
    hass: HomeAssistant, setup_entry: MockConfigEntry
) -> None:
    """ "If Qwen fails, use": any stt entity but this one; clearing it removes it."""
    own = stt_entity_id(hass, setup_entry)
    subentry_id = first_stt(setup_entry).subentry_id
    result = await _stt_flow(hass, setup_entry, subentry_id)
    selector = next(
        value for key, value in result["data_schema"].schema.items() if key == CONF_FALLBACK_STT
    )
    assert selector.config["domain"] == ["stt"] and selector.config["exclude_entities"] == [own]
    base = {**DEFAULT_OPTIONS}
    configure = hass.config_entries.subentries.async_configure
    with pytest.raises(InvalidData):
        await configure(result["flow_id"], base | {CONF_FALLBACK_STT: own})
    with pytest.raises(InvalidData):
        await configure(result["flow_id"], base | {CONF_FALLBACK_STT: "light.kitchen"})
    result = await configure(result["flow_id"], base | {CONF_FALLBACK_STT: "stt.faster_whisper"})
    assert result["type"] is FlowResultType.ABORT
    assert first_stt(setup_entry).data[CONF_FALLBACK_STT] == "stt.faster_whisper"
    result = await _stt_flow(hass, setup_entry, subentry_id)
    await configure(result["flow_id"], base)
    assert CONF_FALLBACK_STT not in first_stt(setup_entry).data


async def test_adding_speech_to_text_makes_an_entity_with_its_own_device(
    hass: HomeAssistant, emulator: Any, setup_entry: MockConfigEntry
) -> None:
    """ "Add speech-to-text": a named subentry with its own settings, then its own entity on
    its own service device; removing it removes both."""
    first = stt_entity_id(hass, setup_entry)
    result = await _stt_flow(hass, setup_entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_NAME].description["suggested_value"] == "Qwen ASR 2"
    assert "exclude_entities" not in str(fields)  # a new entity has no id to exclude yet
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**DEFAULT_OPTIONS, CONF_NAME: " Cantonese ", CONF_LANGUAGE: "yue"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    [added] = [sub for sub in setup_entry.subentries.values() if sub.title == "Cantonese"]
    assert added.data == {**DEFAULT_OPTIONS, CONF_LANGUAGE: "yue", CONF_CONTEXT: ""}
    entity_id = stt_entity_id(hass, setup_entry, added.subentry_id)
    assert entity_id == "stt.cantonese"
    assert hass.states.get(entity_id) is not None
    assert hass.states.get(first) is not None  # the first one is still there
    registry_entry = er.async_get(hass).async_get(entity_id)
    assert registry_entry is not None
    assert registry_entry.config_subentry_id == added.subentry_id
    device = dr.async_get(hass).async_get(registry_entry.device_id or "")
    assert device is not None
    assert device.identifiers == {(DOMAIN, added.subentry_id)}
    assert device.name == "Cantonese"
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device_subentries(device) == {setup_entry.entry_id: {added.subentry_id}}

    # The next default name skips the names taken.
    result = await _stt_flow(hass, setup_entry)
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_NAME].description["suggested_value"] == "Qwen ASR 3"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**DEFAULT_OPTIONS, CONF_NAME: "Qwen ASR 3"}
    )
    await hass.async_block_till_done()
    result = await _stt_flow(hass, setup_entry)
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_NAME].description["suggested_value"] == "Qwen ASR 4"

    assert hass.config_entries.async_remove_subentry(setup_entry, added.subentry_id)
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get(entity_id) is None
    assert dr.async_get(hass).async_get(device.id) is None
    assert hass.states.get(first) is not None
    # Two names left, "Qwen ASR 3" among them: the default goes past it.
    result = await _stt_flow(hass, setup_entry)
    fields = {str(key): key for key in result["data_schema"].schema}
    assert fields[CONF_NAME].description["suggested_value"] == "Qwen ASR 4"


@pytest.mark.parametrize("reconfigure", [False, True], ids=["add", "reconfigure"])
async def test_speech_to_text_flows_abort_while_the_entry_is_not_loaded(
    hass: HomeAssistant, config_entry: MockConfigEntry, reconfigure: bool
) -> None:
    """Not loaded (setup failed, or disabled): no entity could start, so the flows say so."""
    subentry_id = first_stt(config_entry).subentry_id if reconfigure else None
    result = await _stt_flow(hass, config_entry, subentry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_an_entry_with_two_speech_to_text_subentries_has_two_entities(
    hass: HomeAssistant, emulator: Any, entry_data: dict[str, Any]
) -> None:
    """An entry stored with two speech-to-text subentries sets up one entity for each."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen ASR (Custom)",
        data=entry_data,
        subentries_data=[stt_subentry_data("English"), stt_subentry_data("Cantonese")],
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity_ids = {stt_entity_id(hass, entry, sub_id) for sub_id in entry.subentries}
    assert entity_ids == {"stt.english", "stt.cantonese"}
