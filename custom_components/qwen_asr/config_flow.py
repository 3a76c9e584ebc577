"""Config flow: the account (user, reauth, reconfigure) and its speech-to-text subentries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME
from homeassistant.core import callback
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
    TextSelectorType,
)

from .account import AccountCheck, async_check_account, clean_account, title_for
from .compat import vol
from .const import (
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
    ENDPOINTING_HA,
    ENDPOINTING_QWEN,
    LANGUAGE_AUTO,
    LANGUAGE_PIPELINE,
    NAME,
    REGION_INTL,
    REGIONS,
    SUBENTRY_STT,
    VAD_MANUAL,
    VAD_SERVER,
)
from .helpers import account_of, stt_subentries
from .realtime import (
    DEFAULT_MODEL,
    LANGUAGES,
    MAX_CONTEXT_CHARS,
    MODELS,
    SILENCE_MS_RANGE,
    VAD_THRESHOLD_RANGE,
)

_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def _account_schema(defaults: Mapping[str, Any], *, key_required: bool) -> vol.Schema:
    key = vol.Required(CONF_API_KEY) if key_required else vol.Optional(CONF_API_KEY)
    return vol.Schema(
        {
            key: _PASSWORD,
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
            vol.Optional(
                CONF_ALLOW_INSECURE, default=bool(defaults.get(CONF_ALLOW_INSECURE, False))
            ): BooleanSelector(),
            vol.Required(CONF_MODEL, default=defaults.get(CONF_MODEL, DEFAULT_MODEL)): (
                SelectSelector(SelectSelectorConfig(options=list(MODELS), custom_value=True))
            ),
        }
    )


def _user_schema() -> vol.Schema:
    """Return the account form, with the choice to send the home's names.

    Stated at setup, where the user decides; each speech-to-text entity keeps the switch.
    """
    default = bool(DEFAULT_OPTIONS[CONF_HOME_CONTEXT])
    return _account_schema({}, key_required=True).extend(
        {vol.Required(CONF_HOME_CONTEXT, default=default): BooleanSelector()}
    )


class QwenAsrConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, reauthenticate and reconfigure a Qwen account."""

    # 1.2: entries have no unique id (1.1 derived one from the API key).
    # 2.1: the recognition settings live in speech-to-text subentries, not in the options.
    VERSION = 2
    MINOR_VERSION = 1

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentries an account has: speech-to-text entities."""
        return {SUBENTRY_STT: SpeechToTextSubentryFlow}

    def _abort_if_account_configured(
        self, data: Mapping[str, Any], changing: ConfigEntry | None = None
    ) -> None:
        """Abort when another entry already uses this key at this endpoint.

        Checked before any session is opened. The entry being changed does not count.
        """
        account = account_of(data)
        if changing is None or account != account_of(changing.data):
            self._async_abort_entries_match(account)

    async def _async_check(
        self, data: dict[str, Any], changing: ConfigEntry | None = None
    ) -> AccountCheck:
        """Check the settings locally, then for duplicates, then with one real session."""
        check = AccountCheck.local(data)
        if not check.errors:
            self._abort_if_account_configured(check.data, changing)
            check = await async_check_account(check.data)
        return check

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the API key, region and model, and check them.

        The entry holds the account; its first speech-to-text entity is a subentry named
        like the entry (so its entity id is what it was before subentries).
        """
        check = AccountCheck()
        if user_input is not None:
            check = await self._async_check(clean_account(user_input))
            if not check.errors:
                title = title_for(check.data)
                settings = {**DEFAULT_OPTIONS, CONF_HOME_CONTEXT: user_input[CONF_HOME_CONTEXT]}
                return self.async_create_entry(
                    title=title,
                    data=check.data,
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_STT,
                            "data": settings,
                            "title": title,
                            "unique_id": None,
                        }
                    ],
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(_user_schema(), user_input),
            errors=check.errors,
            description_placeholders=check.placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication: the service rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key; the region, model and title stay as they are."""
        entry = self._get_reauth_entry()
        check = AccountCheck()
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: str(user_input[CONF_API_KEY]).strip()}
            check = await self._async_check(data, entry)
            if not check.errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_KEY: check.data[CONF_API_KEY]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_API_KEY): _PASSWORD}),
            errors=check.errors,
            description_placeholders={"name": entry.title, **check.placeholders},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change key, region or model; an empty key keeps the current one."""
        entry = self._get_reconfigure_entry()
        check = AccountCheck()
        if user_input is not None:
            key = str(user_input.get(CONF_API_KEY) or "").strip() or entry.data[CONF_API_KEY]
            check = await self._async_check(clean_account({**user_input, CONF_API_KEY: key}), entry)
            if not check.errors:
                # The title follows the region only while the user has not renamed it.
                renamed = entry.title != title_for(entry.data)
                return self.async_update_reload_and_abort(
                    entry,
                    data=check.data,
                    title=entry.title if renamed else title_for(check.data),
                )
        defaults = user_input or entry.data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                _account_schema(defaults, key_required=False),
                {k: v for k, v in defaults.items() if k != CONF_API_KEY},
            ),
            errors=check.errors,
            description_placeholders=check.placeholders,
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
