"""Config flow: account (user, reauth, reconfigure) and options."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
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
    LANGUAGE_AUTO,
    LANGUAGE_PIPELINE,
    NAME,
    REGION_CUSTOM,
    REGION_INTL,
    REGION_TITLES,
    REGIONS,
    VAD_MANUAL,
    VAD_SERVER,
)
from .helpers import async_check_connection, endpoint_of, unique_id_for
from .realtime import (
    AuthenticationError,
    ConfigError,
    QwenConnectionError,
    resolve_endpoint,
)
from .realtime.const import (
    DEFAULT_MODEL,
    LANGUAGES,
    MAX_CONTEXT_CHARS,
    MODELS,
    SILENCE_MS_RANGE,
    VAD_THRESHOLD_RANGE,
)

_LOGGER = logging.getLogger(__name__)


def _account_schema(defaults: Mapping[str, Any], *, key_required: bool) -> vol.Schema:
    key = vol.Required(CONF_API_KEY) if key_required else vol.Optional(CONF_API_KEY)
    return vol.Schema(
        {
            key: TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
            vol.Required(CONF_REGION, default=defaults.get(CONF_REGION, REGION_INTL)): (
                SelectSelector(
                    SelectSelectorConfig(
                        options=list(REGIONS),
                        translation_key=CONF_REGION,
                        mode=SelectSelectorMode.LIST,
                    )
                )
            ),
            vol.Optional(
                CONF_ENDPOINT, description={"suggested_value": defaults.get(CONF_ENDPOINT)}
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
            vol.Required(CONF_MODEL, default=defaults.get(CONF_MODEL, DEFAULT_MODEL)): (
                SelectSelector(SelectSelectorConfig(options=list(MODELS), custom_value=True))
            ),
        }
    )


def _clean_account(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data from the form: the endpoint URL is kept only for a custom region."""
    data = {
        CONF_API_KEY: str(user_input[CONF_API_KEY]).strip(),
        CONF_REGION: user_input[CONF_REGION],
        CONF_MODEL: str(user_input[CONF_MODEL]).strip(),
    }
    if data[CONF_REGION] == REGION_CUSTOM:
        data[CONF_ENDPOINT] = str(user_input.get(CONF_ENDPOINT) or "").strip()
    return data


async def _async_validate(data: Mapping[str, Any]) -> dict[str, str]:
    """Open a real session with these settings; form errors, empty when it worked."""
    try:
        resolve_endpoint(endpoint_of(data))
    except ConfigError:
        return {CONF_ENDPOINT: "invalid_endpoint"}
    try:
        await async_check_connection(data)
    except AuthenticationError:
        return {"base": "invalid_auth"}
    except QwenConnectionError:  # includes timeouts
        return {"base": "cannot_connect"}
    except ConfigError:  # the endpoint is valid, so it is the model name
        return {CONF_MODEL: "invalid_model"}
    except Exception:
        _LOGGER.exception("Unexpected error while checking the Qwen connection")
        return {"base": "unknown"}
    return {}


def _title(data: Mapping[str, Any]) -> str:
    return f"{NAME} ({REGION_TITLES[data[CONF_REGION]]})"


class QwenAsrConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, reauthenticate and reconfigure a Qwen account."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> QwenAsrOptionsFlow:
        """Options: language, VAD, context and endpointing."""
        return QwenAsrOptionsFlow()

    def _unique_id_taken(self, unique_id: str, own_entry_id: str | None = None) -> bool:
        return any(
            entry.unique_id == unique_id and entry.entry_id != own_entry_id
            for entry in self._async_current_entries(include_ignore=False)
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the API key, region and model, and check them."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean_account(user_input)
            errors = await _async_validate(data)
            if not errors:
                await self.async_set_unique_id(unique_id_for(data[CONF_API_KEY], endpoint_of(data)))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(data), data=data, options=dict(DEFAULT_OPTIONS)
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _account_schema({}, key_required=True), user_input
            ),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The service rejected the key at runtime."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key for the same region and model."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: str(user_input[CONF_API_KEY]).strip()}
            errors = await _async_validate(data)
            if not errors:
                return self._async_update_account(entry, data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_API_KEY): TextSelector(
                        TextSelectorConfig(type=TextSelectorType.PASSWORD)
                    )
                }
            ),
            description_placeholders={"name": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change key, region or model; an empty key keeps the current one."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _clean_account(
                {
                    **user_input,
                    CONF_API_KEY: user_input.get(CONF_API_KEY) or entry.data[CONF_API_KEY],
                }
            )
            errors = await _async_validate(data)
            if not errors:
                return self._async_update_account(entry, data)
        defaults = user_input or entry.data
        schema = _account_schema(defaults, key_required=False)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, {k: v for k, v in defaults.items() if k != CONF_API_KEY}
            ),
            errors=errors,
        )

    def _async_update_account(self, entry: ConfigEntry, data: dict[str, Any]) -> ConfigFlowResult:
        # A new key or region is a new account identity: keep the id in step with it.
        unique_id = unique_id_for(data[CONF_API_KEY], endpoint_of(data))
        if self._unique_id_taken(unique_id, entry.entry_id):
            return self.async_abort(reason="already_configured")
        return self.async_update_reload_and_abort(
            entry, unique_id=unique_id, title=_title(data), data=data
        )


def _language_options() -> list[SelectOptionDict]:
    named = sorted(LANGUAGES.items(), key=lambda item: item[1])
    return [
        SelectOptionDict(value=LANGUAGE_PIPELINE, label="Same as the Assist pipeline"),
        SelectOptionDict(value=LANGUAGE_AUTO, label="Automatic detection"),
        *(SelectOptionDict(value=code, label=name) for code, name in named),
    ]


def _options_schema() -> vol.Schema:
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
                    options=[ENDPOINTING_HA, ENDPOINTING_QWEN],
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
        }
    )


class QwenAsrOptionsFlow(OptionsFlow):
    """Recognition settings; read at the start of every recognition, so no reload."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and validate the options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {**DEFAULT_OPTIONS, CONF_CONTEXT: "", **user_input}
            options[CONF_CONTEXT] = str(options[CONF_CONTEXT]).strip()
            if (
                options[CONF_ENDPOINTING] == ENDPOINTING_QWEN
                and options[CONF_VAD_MODE] == VAD_MANUAL
            ):
                errors[CONF_ENDPOINTING] = "qwen_endpointing_needs_vad"
            elif len(options[CONF_CONTEXT]) > MAX_CONTEXT_CHARS:
                errors[CONF_CONTEXT] = "context_too_long"
            else:
                return self.async_create_entry(data=options)
        current = user_input or {**DEFAULT_OPTIONS, **self.config_entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(_options_schema(), current),
            errors=errors,
            description_placeholders={"max_context": str(MAX_CONTEXT_CHARS)},
        )
