"""Constants of the Qwen ASR integration."""

from __future__ import annotations

from typing import Final

# Values both front ends use (LANGUAGE_AUTO, VAD_SERVER, ENDPOINTING_*) are the client's.
from .realtime import (
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    ENDPOINTING_HOME_ASSISTANT,
    LANGUAGES,
    VAD_SERVER,
)

DOMAIN: Final = "qwen_asr"
NAME: Final = "Qwen ASR"

# Entry data
CONF_REGION: Final = "region"
CONF_ENDPOINT: Final = "endpoint"
CONF_MODEL: Final = "model"
# ws:// to another machine: the API key and audio cross the network unencrypted.
CONF_ALLOW_INSECURE: Final = "allow_insecure"

REGION_INTL: Final = "intl"
REGION_CN: Final = "cn"
REGION_CUSTOM: Final = "custom"
REGIONS: Final = (REGION_INTL, REGION_CN, REGION_CUSTOM)
REGION_TITLES: Final = {REGION_INTL: "Singapore", REGION_CN: "Beijing", REGION_CUSTOM: "Custom"}

# Each speech-to-text subentry: one entity with its own recognition settings.
SUBENTRY_STT: Final = "stt"

# Subentry data (entry options before version 2)
CONF_LANGUAGE: Final = "language"
CONF_VAD_MODE: Final = "vad_mode"
CONF_VAD_THRESHOLD: Final = "vad_threshold"
CONF_SILENCE_MS: Final = "silence_duration_ms"
CONF_CONTEXT: Final = "context"
CONF_HOME_CONTEXT: Final = "home_context"
CONF_ENDPOINTING: Final = "endpointing"
# "If Qwen fails, use": another stt entity (absent: none).
CONF_FALLBACK_STT: Final = "fallback_stt"

LANGUAGE_PIPELINE: Final = "pipeline"  # the Assist pipeline's language
VAD_MANUAL: Final = "manual"

DEFAULT_OPTIONS: Final[dict[str, object]] = {
    CONF_LANGUAGE: LANGUAGE_PIPELINE,
    CONF_VAD_MODE: VAD_SERVER,
    CONF_VAD_THRESHOLD: DEFAULT_VAD_THRESHOLD,
    CONF_SILENCE_MS: DEFAULT_SILENCE_MS,
    CONF_CONTEXT: "",
    CONF_HOME_CONTEXT: True,
    CONF_ENDPOINTING: ENDPOINTING_HOME_ASSISTANT,
}

# Language tags offered to Assist pipelines: the Qwen codes plus common regional forms
# that Home Assistant users pick; each maps to a Qwen code via normalize_language.
HA_LANGUAGE_TAGS: Final = (
    *LANGUAGES,
    "en-US",
    "en-GB",
    "zh-CN",
    "zh-TW",
    "zh-HK",
    "de-DE",
    "fr-FR",
    "es-ES",
    "es-MX",
    "pt-BR",
    "pt-PT",
    "nb",
)

# How long one recognition may wait for Qwen's first final transcript (Qwen endpointing);
# for its end in any case it waits at most MAX_REQUEST_SECONDS (the client's).
MAX_UTTERANCE_SECONDS: Final = 60.0
