"""Entry data -> client settings, the account's identity, and the connection check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.util.ssl import get_default_context

from . import compat
from .const import (
    CONF_ALLOW_INSECURE,
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    CONF_VAD_MODE,
    CONF_VAD_THRESHOLD,
    DEFAULT_OPTIONS,
    LANGUAGE_PIPELINE,
    REGION_CUSTOM,
    SUBENTRY_STT,
    VAD_MANUAL,
)
from .realtime import (
    DEFAULT_MODEL,
    LANGUAGE_AUTO,
    QwenRealtimeClient,
    SessionConfig,
    Timeouts,
    VadConfig,
    normalize_language,
)

USER_AGENT = "home-assistant-qwen-asr"


def stt_subentries(entry: ConfigEntry[Any]) -> list[ConfigSubentry]:
    """Return the entry's speech-to-text subentries, one entity each."""
    if compat.HAS_SUBENTRIES_OF_TYPE:
        return entry.get_subentries_of_type(SUBENTRY_STT)
    return [sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_STT]


def endpoint_of(data: Mapping[str, Any]) -> str:
    """Return the client's ``endpoint`` argument: ``intl``, ``cn`` or the custom URL."""
    region = str(data[CONF_REGION])
    return str(data.get(CONF_ENDPOINT) or "") if region == REGION_CUSTOM else region


def allows_insecure(data: Mapping[str, Any]) -> bool:
    """Tell whether the user ticked "unencrypted connection" for a custom ws:// endpoint."""
    return data[CONF_REGION] == REGION_CUSTOM and bool(data.get(CONF_ALLOW_INSECURE))


def account_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return what makes two entries the same account: the key and where it is used.

    Entry data to match with ``_async_abort_entries_match``; the model is not part of it.
    """
    account = {CONF_API_KEY: data[CONF_API_KEY], CONF_REGION: data[CONF_REGION]}
    if data[CONF_REGION] == REGION_CUSTOM:
        account[CONF_ENDPOINT] = data.get(CONF_ENDPOINT)
    return account


def make_client(data: Mapping[str, Any], config: SessionConfig) -> QwenRealtimeClient:
    """Return a client for the entry's account; the SSL context is HA's preloaded one."""
    return QwenRealtimeClient(
        str(data[CONF_API_KEY]),
        config,
        endpoint=endpoint_of(data),
        timeouts=Timeouts(),
        ssl_context=get_default_context(),
        user_agent=USER_AGENT,
        allow_insecure=allows_insecure(data),
    )


async def async_check_connection(data: Mapping[str, Any], model: str | None = None) -> None:
    """Open a real session with these settings (or ``model``) and close it; raises QwenError.

    No audio is sent: the cost is the handshake, one session.update round trip and the
    WebSocket closing handshake.
    """
    config = SessionConfig(model=model or str(data.get(CONF_MODEL) or DEFAULT_MODEL))
    async with make_client(data, config):
        pass


def session_config(
    data: Mapping[str, Any],
    options: Mapping[str, Any],
    *,
    pipeline_language: str | None,
    sample_rate: int,
    context: str,
) -> SessionConfig:
    """Return the session one recognition asks for, from the account and its settings."""
    opts = {**DEFAULT_OPTIONS, **options}
    language_option = str(opts[CONF_LANGUAGE])
    language: str | None
    if language_option == LANGUAGE_PIPELINE:
        language = normalize_language(pipeline_language)
    elif language_option == LANGUAGE_AUTO:
        language = None
    else:
        language = language_option
    vad = (
        None
        if opts[CONF_VAD_MODE] == VAD_MANUAL
        else VadConfig(float(opts[CONF_VAD_THRESHOLD]), int(opts[CONF_SILENCE_MS]))
    )
    return SessionConfig(
        model=str(data.get(CONF_MODEL) or DEFAULT_MODEL),
        language=language,
        sample_rate=sample_rate,
        vad=vad,
        context=context,
    )
