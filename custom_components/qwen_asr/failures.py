"""Who can fix a failure: the key (reauth), the settings (reconfigure) or time (retry).

Used at setup and after every failed recognition, so that a problem only the user can
fix always leads to the fix: a rejected key starts reauthentication; a refused or retired
model or an endpoint that cannot work raises a repair issue whose fix is *Reconfigure*;
anything the network or the service may get over on its own is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback

from .const import CONF_MODEL, CONF_REGION, DOMAIN, REGION_CUSTOM
from .helpers import async_check_connection
from .models import QwenConfigEntry
from .realtime import (
    DEFAULT_MODEL,
    AuthenticationError,
    ConfigError,
    ProtocolError,
    QwenError,
    ServiceError,
    SessionRefusedError,
    redact,
)
from .repairs import async_raise_settings_issue

_LOGGER = logging.getLogger(__name__)


class Remedy(StrEnum):
    """What makes a failure go away."""

    REAUTH = "reauth"  # a new API key
    RECONFIGURE = "reconfigure"  # other settings: model, region, endpoint
    RETRY = "retry"  # nothing the user has to do: the network or the service


class Cause(StrEnum):
    """Why the settings cannot work; each is a repair issue's translation key."""

    MODEL_REFUSED = "model_refused"
    INVALID_SETTINGS = "invalid_settings"
    NOT_QWEN_SERVICE = "not_qwen_service"


def _could_be_the_model(err: QwenError) -> bool:
    # How the service refuses an unknown model is not documented: an HTTP error at the
    # handshake or an error event (protocol doc).
    return isinstance(err, SessionRefusedError | ServiceError)


async def async_only_the_model_is_refused(data: Mapping[str, Any]) -> bool:
    """Whether the same key and endpoint work with the default model (one more session)."""
    if data[CONF_MODEL] == DEFAULT_MODEL:
        return False
    try:
        await async_check_connection(data, model=DEFAULT_MODEL)
    except QwenError:
        return False
    return True


async def async_diagnose(data: Mapping[str, Any], err: QwenError) -> tuple[Remedy, Cause | None]:
    """Return the remedy for ``err`` with these settings, and the cause of a reconfigure."""
    if isinstance(err, AuthenticationError):
        return Remedy.REAUTH, None
    if isinstance(err, ConfigError):  # refused before anything was sent
        return Remedy.RECONFIGURE, Cause.INVALID_SETTINGS
    if isinstance(err, ProtocolError) and data[CONF_REGION] == REGION_CUSTOM:
        return Remedy.RECONFIGURE, Cause.NOT_QWEN_SERVICE
    if _could_be_the_model(err) and await async_only_the_model_is_refused(data):
        return Remedy.RECONFIGURE, Cause.MODEL_REFUSED
    return Remedy.RETRY, None


@callback
def async_recognition_failed(hass: HomeAssistant, entry: QwenConfigEntry, err: QwenError) -> None:
    """Lead a failed recognition's cause to its fix without delaying the pipeline's result."""
    if isinstance(err, AuthenticationError):
        entry.async_start_reauth(hass)
    elif isinstance(err, ConfigError | ProtocolError) or _could_be_the_model(err):
        entry.async_create_background_task(
            hass, _async_raise_if_settings(hass, entry, err), name=f"{DOMAIN} diagnose failure"
        )


async def _async_raise_if_settings(
    hass: HomeAssistant, entry: QwenConfigEntry, err: QwenError
) -> None:
    remedy, cause = await async_diagnose(entry.data, err)
    if remedy is Remedy.RECONFIGURE and cause is not None:
        text = redact(str(err), entry.data[CONF_API_KEY])
        _LOGGER.error("%s: the settings need a change (%s): %s", entry.title, cause, text)
        async_raise_settings_issue(hass, entry, cause, str(err))
