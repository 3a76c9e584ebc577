"""Checking an account's settings, and each failure's form error.

Used by the config flow (user, reauth, reconfigure). Every error names its real cause;
``unknown`` is left for exceptions nobody expected.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from homeassistant.const import CONF_API_KEY

from .const import (
    CONF_ALLOW_INSECURE,
    CONF_ENDPOINT,
    CONF_MODEL,
    CONF_REGION,
    NAME,
    REGION_CUSTOM,
    REGION_TITLES,
)
from .failures import async_only_the_model_is_refused
from .helpers import allows_insecure, async_check_connection, endpoint_of
from .realtime import (
    AuthenticationError,
    ConfigError,
    InsecureEndpointError,
    ProtocolError,
    QwenConnectionError,
    QwenTimeoutError,
    ServiceError,
    SessionConfig,
    SessionRefusedError,
    redact,
    resolve_endpoint,
    secret_problem,
)

_LOGGER = logging.getLogger(__name__)


def clean_account(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Return entry data from the account form.

    The endpoint and its unencrypted-connection choice are kept only for a custom region.
    """
    data = {
        CONF_API_KEY: str(user_input.get(CONF_API_KEY) or "").strip(),
        CONF_REGION: user_input[CONF_REGION],
        CONF_MODEL: str(user_input[CONF_MODEL]).strip(),
    }
    if data[CONF_REGION] == REGION_CUSTOM:
        data[CONF_ENDPOINT] = str(user_input.get(CONF_ENDPOINT) or "").strip()
        if user_input.get(CONF_ALLOW_INSECURE):
            data[CONF_ALLOW_INSECURE] = True
    return data


def title_for(data: Mapping[str, Any]) -> str:
    """Return the entry's automatic title, naming the region."""
    return f"{NAME} ({REGION_TITLES[data[CONF_REGION]]})"


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """The outcome of a check: form errors (empty when it passed) and the data to store."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def local(cls, data: dict[str, Any]) -> AccountCheck:
        """Check what needs no network; a custom endpoint is normalized."""
        if not data[CONF_API_KEY]:
            return cls(data, {CONF_API_KEY: "empty_api_key"})
        # Refused here, where the message can say where (never what): sent in a header, such
        # a key would make the HTTP layer quote it in its error.
        if (problem := secret_problem(data[CONF_API_KEY])) is not None:
            return cls(data, {CONF_API_KEY: "invalid_api_key_format"}, {"key_problem": problem})
        try:
            endpoint = resolve_endpoint(endpoint_of(data), allow_insecure=allows_insecure(data))
        except InsecureEndpointError:
            return cls(data, {CONF_ENDPOINT: "insecure_endpoint"})
        except ConfigError:
            return cls(data, {CONF_ENDPOINT: "invalid_endpoint"})
        try:
            SessionConfig(model=data[CONF_MODEL]).validate()
        except ConfigError:
            return cls(data, {CONF_MODEL: "invalid_model"})
        if data[CONF_REGION] == REGION_CUSTOM:
            data = {**data, CONF_ENDPOINT: endpoint}
        return cls(data)

    def failed(self, errors: dict[str, str], **placeholders: str) -> AccountCheck:
        """Return this check, failed with these form errors."""
        return dataclasses.replace(self, errors=errors, placeholders=placeholders)


async def async_check_account(data: dict[str, Any]) -> AccountCheck:
    """Open a real session with locally valid settings; the check's outcome."""
    check = AccountCheck(data)
    try:
        await async_check_connection(data)
    except AuthenticationError:
        return check.failed({"base": "invalid_auth"})
    except QwenTimeoutError:
        return check.failed({"base": "timeout_connect"})
    except (SessionRefusedError, ServiceError) as err:
        if await async_only_the_model_is_refused(data):
            return check.failed({CONF_MODEL: "invalid_model"})
        return check.failed({"base": "service_error"}, error=redact(str(err), data[CONF_API_KEY]))
    except QwenConnectionError:
        return check.failed({"base": "cannot_connect"})
    except ProtocolError:
        return check.failed({"base": "not_qwen_service"})
    except Exception:
        _LOGGER.exception("Unexpected error while checking the Qwen account")
        return check.failed({"base": "unknown"})
    return check
