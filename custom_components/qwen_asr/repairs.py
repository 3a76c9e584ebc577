"""Repair issues for settings only the user can fix, and their fix: *Reconfigure*.

One issue per entry. It is raised when the service refuses the model (a name it does not
know, or a dated snapshot it has retired) or the endpoint cannot work, at setup or during
a recognition; it is removed when the entry sets up with working settings, or is deleted.
"""

from __future__ import annotations

from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import SOURCE_RECONFIGURE
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from . import compat
from .const import CONF_MODEL, DOMAIN
from .models import QwenConfigEntry
from .realtime import redact

ISSUE_PREFIX = "settings_"


def issue_id_for(entry_id: str) -> str:
    """Return the id of an entry's settings issue."""
    return f"{ISSUE_PREFIX}{entry_id}"


@callback
def async_raise_settings_issue(
    hass: HomeAssistant, entry: QwenConfigEntry, cause: str, error: str
) -> None:
    """Create (or replace) the entry's issue; ``cause`` is its translation key."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id_for(entry.entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=cause,
        translation_placeholders={
            "name": entry.title,
            "model": str(entry.data.get(CONF_MODEL) or ""),
            # Shown in the UI: an HTTP-layer error may quote a header with the key.
            "error": redact(error, str(entry.data.get(CONF_API_KEY) or "")),
        },
        data={"entry_id": entry.entry_id},
    )


@callback
def async_clear_settings_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the settings issue: the entry works again, or is gone."""
    ir.async_delete_issue(hass, DOMAIN, issue_id_for(entry_id))


class ReconfigureRepairFlow(RepairsFlow):
    """Explains the problem, then opens the entry's *Reconfigure* dialog.

    Where Home Assistant cannot hand a repair over to another flow (before ``next_flow``),
    the last step says where *Reconfigure* is. The issue stays until the settings work.
    """

    def __init__(self, entry_id: str) -> None:
        """Create the fix flow of the entry ``entry_id``."""
        self._entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> compat.RepairsFlowResult:
        """Start with the explanation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> compat.RepairsFlowResult:
        """Show what is wrong; on submit, start the reconfigure flow."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        placeholders = dict(issue.translation_placeholders or {}) if issue else {}
        placeholders.setdefault("name", entry.title)
        if user_input is None:
            return self.async_show_form(step_id="confirm", description_placeholders=placeholders)
        if compat.HAS_REPAIRS_NEXT_FLOW:
            reconfigure = await self.hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
            )
            return self.async_abort(
                reason="reconfigure_started",
                description_placeholders=placeholders,
                next_flow=(compat.FlowType.CONFIG_FLOW, reconfigure["flow_id"]),
            )
        return self.async_abort(
            reason="reconfigure_in_settings", description_placeholders=placeholders
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Return the fix flow of a settings issue (the only kind this integration raises)."""
    entry_id = str((data or {}).get("entry_id") or issue_id.removeprefix(ISSUE_PREFIX))
    return ReconfigureRepairFlow(entry_id)
