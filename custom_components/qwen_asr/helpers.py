"""Entry data -> client settings, the entry's unique id, and the connection check."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_API_KEY
from homeassistant.util.ssl import get_default_context

from .const import (
    CONF_ENDPOINT,
    CONF_LANGUAGE,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    CONF_VAD_MODE,
    CONF_VAD_THRESHOLD,
    DEFAULT_OPTIONS,
    LANGUAGE_AUTO,
    LANGUAGE_PIPELINE,
    REGION_CUSTOM,
    VAD_MANUAL,
)
from .realtime import (
    QwenRealtimeClient,
    SessionConfig,
    Timeouts,
    VadConfig,
    normalize_language,
    resolve_endpoint,
)
from .realtime.const import DEFAULT_MODEL

USER_AGENT = "home-assistant-qwen-asr"
# Salt of the unique-id hash, so the id is not a plain hash of the key that could be
# matched against other services' key hashes.
_UNIQUE_ID_SALT = b"qwen_asr unique id v1\0"


def endpoint_of(data: Mapping[str, Any]) -> str:
    """The client's ``endpoint`` argument: ``intl``, ``cn`` or the custom URL."""
    region = str(data[CONF_REGION])
    return str(data.get(CONF_ENDPOINT) or "") if region == REGION_CUSTOM else region


def unique_id_for(api_key: str, endpoint: str) -> str:
    """Identify an account + region without storing the key in the id.

    A truncated salted SHA-256 of key and resolved endpoint: the same key for the same
    region always gives the same id (so it cannot be added twice), and the key cannot be
    recovered from it.
    """
    digest = hashlib.sha256(
        _UNIQUE_ID_SALT + resolve_endpoint(endpoint).encode() + b"\0" + api_key.encode()
    ).hexdigest()
    return digest[:32]


def make_client(data: Mapping[str, Any], config: SessionConfig) -> QwenRealtimeClient:
    """A client for the entry's account; the SSL context is HA's preloaded one."""
    return QwenRealtimeClient(
        str(data[CONF_API_KEY]),
        config,
        endpoint=endpoint_of(data),
        timeouts=Timeouts(),
        ssl_context=get_default_context(),
        user_agent=USER_AGENT,
    )


async def async_check_connection(data: Mapping[str, Any]) -> None:
    """Open a real session with these settings and close it; raises QwenError."""
    config = SessionConfig(model=str(data.get(CONF_MODEL) or DEFAULT_MODEL))
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
    """The session one recognition asks for, from the entry and its options."""
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
