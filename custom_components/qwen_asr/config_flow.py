"""Config flow: the account (user, reauth, reconfigure); its subentries are stt_flow.py's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    BooleanSelector,
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
    CONF_ENDPOINT,
    CONF_HOME_CONTEXT,
    CONF_MODEL,
    CONF_REGION,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_INTL,
    REGIONS,
    SUBENTRY_STT,
)
from .helpers import account_of
from .realtime import (
    DEFAULT_MODEL,
    MODELS,
)
from .stt_flow import SpeechToTextSubentryFlow

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
