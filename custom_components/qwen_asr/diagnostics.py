"""Diagnostics: settings and the latest session summary, with the API key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components import stt
from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .const import CONF_CONTEXT
from .models import QwenConfigEntry

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QwenConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    runtime = entry.runtime_data
    options = dict(entry.options)
    # The user's context text may be personal: report its size, not its content.
    options[CONF_CONTEXT] = f"<{len(str(options.get(CONF_CONTEXT) or ''))} characters>"
    return {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data)},
            TO_REDACT,
        ),
        "options": options,
        "home_context_lines": len(runtime.home_context.text.splitlines()),
        "last_session": dict(runtime.last_session),
        "home_assistant_features": {
            "audio_processing": hasattr(stt, "DEFAULT_AUDIO_PROCESSING"),
            "partial_results": hasattr(stt, "PartialSpeechResult"),
        },
    }
