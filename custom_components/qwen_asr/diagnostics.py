"""Diagnostics: settings and the latest session summary, with the API key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import compat
from .const import CONF_CONTEXT, CONF_HOME_CONTEXT
from .models import QwenConfigEntry, QwenRuntimeData
from .realtime.redact import redact

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QwenConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry, loaded or not.

    A failed setup (rejected key, unreachable service, refused settings) is when diagnostics
    help most, and Home Assistant drops ``runtime_data`` whenever the entry is not loaded
    (also for the moment of a reload).
    """
    runtime: QwenRuntimeData | None = getattr(entry, "runtime_data", None)
    options = dict(entry.options)
    # The user's context text may be personal: report its size, not its content.
    options[CONF_CONTEXT] = f"<{len(str(options.get(CONF_CONTEXT) or ''))} characters>"
    report = {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data)},
            TO_REDACT,
        ),
        "state": entry.state.value,
        "setup_error": entry.reason,
        "options": options,
        "home_context_lines": (
            None if runtime is None else len(runtime.home_context.text.splitlines())
        ),
        "last_session": {} if runtime is None else dict(runtime.last_session),
        # Whether the home's names go to the service, and how many went last (never which).
        "home_names": {
            "enabled": bool(options.get(CONF_HOME_CONTEXT)),
            "sent_in_last_request": (
                None if runtime is None else runtime.last_session.get("home_names_sent")
            ),
        },
        "last_fallback": {} if runtime is None else dict(runtime.last_fallback),
        # With "If Qwen fails, use": whether Qwen is skipped now, and after which failure.
        "fallback_breaker": None if runtime is None else _breaker(runtime),
        "home_assistant_features": {
            "audio_processing": compat.HAS_AUDIO_PROCESSING,
            # The entity yields partials wherever HA takes them (2026.11+), but the Assist
            # pipeline of 2026.11.0 keeps only the final transcript (tests/ha/test_pipeline).
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
    """``value`` with ``redact`` applied to every string in it, dictionaries and lists too."""
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        return {name: _redacted(item, key) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item, key) for item in value]
    return value


def _breaker(runtime: QwenRuntimeData) -> dict[str, Any]:
    state = runtime.breaker.state()
    return {"skipping_qwen_for_s": round(state.retry_in, 1), "last_failure": state.reason}
