"""Diagnostics: the account, each speech-to-text subentry and its latest session; no key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from . import compat
from .const import CONF_CONTEXT, CONF_HOME_CONTEXT, DEFAULT_OPTIONS, DOMAIN
from .helpers import stt_subentries
from .models import QwenConfigEntry, QwenRuntimeData
from .realtime import BreakerState, redact

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QwenConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry, loaded or not, with each speech-to-text.

    A failed setup (rejected key, unreachable service, refused settings) is when diagnostics
    help most, and Home Assistant drops ``runtime_data`` whenever the entry is not loaded
    (also for the moment of a reload).
    """
    runtime = _runtime(entry)
    report = {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data)},
            TO_REDACT,
        ),
        "version": f"{entry.version}.{entry.minor_version}",
        "state": entry.state.value,
        "setup_error": entry.reason,
        "home_context_lines": (
            None if runtime is None else len(runtime.home_context.text.splitlines())
        ),
        "speech_to_text": [_subentry(runtime, subentry) for subentry in stt_subentries(entry)],
        "home_assistant_features": {
            "audio_processing": compat.HAS_AUDIO_PROCESSING,
            # The entity yields partials wherever HA takes them (2026.11+), but the Assist
            # pipeline of 2026.11.0 keeps only the final transcript (tests/qwen_asr/test_pipeline).
            "partial_results": {
                "yielded_to_home_assistant": compat.HAS_PARTIAL_RESULTS,
                "shown_by_assist_pipeline": False,
            },
            "repair_opens_reconfigure": compat.HAS_REPAIRS_NEXT_FLOW,
        },
    }
    # Error texts (the setup error, the last session's, the breaker's) pass the outbound
    # boundary: an HTTP-layer error may quote a header with the key or another credential.
    key = str(entry.data.get(CONF_API_KEY) or "")
    return {name: _redacted(value, key) for name, value in report.items()}


def _redacted(value: Any, key: str) -> Any:
    """Return ``value`` with ``redact`` applied to every string in it, nested ones too."""
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        return {name: _redacted(item, key) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, key) for item in value]
    return value


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: QwenConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Return the diagnostics of one speech-to-text (its device), with the account's."""
    everything = await async_get_config_entry_diagnostics(hass, entry)
    ids = {identifier for domain, identifier in device.identifiers if domain == DOMAIN}
    everything["speech_to_text"] = [
        item for item in everything["speech_to_text"] if item["subentry_id"] in ids
    ]
    return everything


def _runtime(entry: QwenConfigEntry) -> QwenRuntimeData | None:
    """Return the runtime data, which only a loaded entry has."""
    runtime: QwenRuntimeData | None = getattr(entry, "runtime_data", None)
    return runtime


def _subentry(runtime: QwenRuntimeData | None, subentry: ConfigSubentry) -> dict[str, Any]:
    """Return one speech-to-text's settings and latest recognition."""
    settings = _settings(subentry.data)
    state = None if runtime is None else runtime.speech_to_text.get(subentry.subentry_id)
    last_session = state.last_session if state else None
    return {
        "subentry_id": subentry.subentry_id,
        "title": subentry.title,
        "settings": settings,
        "last_session": last_session.as_dict() if last_session else {},
        # Whether the home's names go to the service, and how many went last (never which).
        "home_names": {
            "enabled": bool(settings[CONF_HOME_CONTEXT]),
            "sent_in_last_request": last_session.home_names_sent if last_session else None,
        },
        "last_fallback": state.last_fallback.as_dict() if state and state.last_fallback else {},
        # With "If Qwen fails, use": whether Qwen is skipped now, and after which failure.
        "fallback_breaker": None if state is None else _breaker(state.breaker.state()),
    }


def _settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the settings; the user's context text may be personal: only its size."""
    settings = {**DEFAULT_OPTIONS, **data}
    settings[CONF_CONTEXT] = f"<{len(str(settings.get(CONF_CONTEXT) or ''))} characters>"
    return settings


def _breaker(state: BreakerState) -> dict[str, Any]:
    """Return how long Qwen is skipped, and after which failure."""
    return {"skipping_qwen_for_seconds": round(state.retry_in, 1), "last_failure": state.reason}
