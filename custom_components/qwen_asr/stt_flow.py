"""The speech-to-text subentry flow: add a speech-to-text entity, or change its settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)

from .compat import vol
from .const import (
    CONF_CONTEXT,
    CONF_ENDPOINTING,
    CONF_FALLBACK_STT,
    CONF_HOME_CONTEXT,
    CONF_LANGUAGE,
    CONF_SILENCE_MS,
    CONF_VAD_MODE,
    CONF_VAD_THRESHOLD,
    DEFAULT_OPTIONS,
    DOMAIN,
    LANGUAGE_PIPELINE,
    NAME,
    VAD_MANUAL,
)
from .helpers import stt_subentries
from .realtime import (
    ENDPOINTING_HOME_ASSISTANT,
    ENDPOINTING_QWEN,
    LANGUAGE_AUTO,
    LANGUAGES,
    MAX_CONTEXT_CHARS,
    SILENCE_MS_RANGE,
    VAD_SERVER,
    VAD_THRESHOLD_RANGE,
)


def _language_options() -> list[SelectOptionDict]:
    """Return the language choices: the pipeline's, automatic, then Qwen's by name."""
    named = sorted(LANGUAGES.items(), key=lambda item: item[1])
    return [
        SelectOptionDict(value=LANGUAGE_PIPELINE, label="Same as the Assist pipeline"),
        SelectOptionDict(value=LANGUAGE_AUTO, label="Automatic detection"),
        *(SelectOptionDict(value=code, label=name) for code, name in named),
    ]


def _settings_schema(own_entity_id: str | None = None) -> vol.Schema:
    """Return the form of one speech-to-text entity's recognition settings."""
    low, high = VAD_THRESHOLD_RANGE
    low_ms, high_ms = SILENCE_MS_RANGE
    return vol.Schema(
        {
            vol.Required(CONF_LANGUAGE): SelectSelector(
                SelectSelectorConfig(
                    options=_language_options(),
                    translation_key=CONF_LANGUAGE,
                    mode=SelectSelectorMode.DROPDOWN,
                )
            ),
            vol.Required(CONF_ENDPOINTING): SelectSelector(
                SelectSelectorConfig(
                    options=[ENDPOINTING_HOME_ASSISTANT, ENDPOINTING_QWEN],
                    translation_key=CONF_ENDPOINTING,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(CONF_VAD_MODE): SelectSelector(
                SelectSelectorConfig(
                    options=[VAD_SERVER, VAD_MANUAL],
                    translation_key=CONF_VAD_MODE,
                    mode=SelectSelectorMode.LIST,
                )
            ),
            vol.Required(CONF_VAD_THRESHOLD): NumberSelector(
                NumberSelectorConfig(min=low, max=high, step=0.05, mode=NumberSelectorMode.SLIDER)
            ),
            vol.Required(CONF_SILENCE_MS): vol.All(
                NumberSelector(
                    NumberSelectorConfig(
                        min=low_ms,
                        max=high_ms,
                        step=100,
                        unit_of_measurement="ms",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                vol.Coerce(int),
            ),
            vol.Required(CONF_HOME_CONTEXT): BooleanSelector(),
            vol.Optional(CONF_CONTEXT): TextSelector(TextSelectorConfig(multiline=True)),
            # "If Qwen fails, use": the other speech-to-text engines of this home.
            vol.Optional(CONF_FALLBACK_STT): EntitySelector(
                EntitySelectorConfig(
                    domain="stt", exclude_entities=[own_entity_id] if own_entity_id else []
                )
            ),
        }
    )


def _settings_errors(settings: Mapping[str, Any]) -> dict[str, str]:
    """Return the form errors of a speech-to-text entity's settings (none: they can work)."""
    if settings[CONF_ENDPOINTING] == ENDPOINTING_QWEN and settings[CONF_VAD_MODE] == VAD_MANUAL:
        return {CONF_ENDPOINTING: "qwen_endpointing_needs_vad"}
    if len(settings[CONF_CONTEXT]) > MAX_CONTEXT_CHARS:
        return {CONF_CONTEXT: "context_too_long"}
    return {}


class SpeechToTextSubentryFlow(ConfigSubentryFlow):
    """Add a speech-to-text entity to an account, or change one's recognition settings.

    Settings are read at the start of every recognition, so a change needs no reload; a new
    entity does (the entry's update listener).
    """

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a speech-to-text entity with its own name and settings."""
        return await self._async_step_settings("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the settings of a speech-to-text entity."""
        return await self._async_step_settings("reconfigure", user_input)

    async def _async_step_settings(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Show and validate the settings; a new entity also gets a name."""
        entry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            # A new entity could not be set up, and the fallback choice lists entities.
            return self.async_abort(reason="entry_not_loaded")
        adding = self.source == SOURCE_USER
        errors: dict[str, str] = {}
        if user_input is not None:
            settings = {**DEFAULT_OPTIONS, CONF_CONTEXT: "", **user_input}
            name = str(settings.pop(CONF_NAME, "") or "").strip()
            settings[CONF_CONTEXT] = str(settings[CONF_CONTEXT]).strip()
            errors = _settings_errors(settings)
            if not errors and adding:
                return self.async_create_entry(
                    title=name or self._default_name(entry), data=settings
                )
            if not errors:
                return self.async_update_and_abort(
                    entry, self._get_reconfigure_subentry(), data=settings
                )
        schema = _settings_schema(None if adding else self._own_entity_id())
        if adding:
            current = user_input or {**DEFAULT_OPTIONS, CONF_NAME: self._default_name(entry)}
            schema = vol.Schema({vol.Required(CONF_NAME): TextSelector()}).extend(schema.schema)
        else:
            current = user_input or {**DEFAULT_OPTIONS, **self._get_reconfigure_subentry().data}
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
            description_placeholders={"max_context": str(MAX_CONTEXT_CHARS)},
        )

    @staticmethod
    def _default_name(entry: ConfigEntry) -> str:
        """Return a name no speech-to-text entity of the entry has yet: "Qwen ASR 2", ..."""
        taken = {subentry.title for subentry in stt_subentries(entry)}
        number = len(taken) + 1
        while f"{NAME} {number}" in taken:
            number += 1
        return f"{NAME} {number}"

    def _own_entity_id(self) -> str | None:
        """Return this subentry's speech-to-text entity, which cannot be its own fallback."""
        registry = er.async_get(self.hass)
        subentry_id = self._get_reconfigure_subentry().subentry_id
        return registry.async_get_entity_id("stt", DOMAIN, subentry_id)
