"""The options shared by every subcommand that talks to Qwen (``serve``, ``transcribe``, ...).

Each option's default comes from its environment variable (named in ``--help``); the
value types raise ArgumentTypeError so that argparse reports the option by name.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from qwen_asr_realtime import (
    DEFAULT_COALESCE_MS,
    DEFAULT_MODEL,
    DEFAULT_REGION,
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    MAX_COALESCE_MS,
    SILENCE_MS_RANGE,
    VAD_THRESHOLD_RANGE,
    ConfigError,
    normalize_language,
    resolve_endpoint,
)

from .arg_types import float_in_range, int_in_range

AUTO_LANGUAGE = "auto"


def _region(value: str) -> str:
    try:
        # The URL's form only: whether ws:// is allowed depends on --allow-insecure.
        resolve_endpoint(value, allow_insecure=True)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def _model(value: str) -> str:
    if not value or any(ch in value for ch in "?&#/ "):
        raise argparse.ArgumentTypeError(f"invalid model name {value!r}")
    return value


def _language(value: str) -> str:
    if value.strip().lower() in ("", AUTO_LANGUAGE):
        return AUTO_LANGUAGE
    code: str | None = normalize_language(value)
    if code is None:
        raise argparse.ArgumentTypeError(f"unsupported language {value!r}")
    return code


def add_qwen_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every subcommand that talks to Qwen."""
    qwen = parser.add_argument_group("Qwen service")
    qwen.add_argument(
        "--api-key",
        default=os.environ.get("QWEN_API_KEY"),
        help="DashScope API key (env QWEN_API_KEY; prefer it or --api-key-file to this flag)",
    )
    qwen.add_argument(
        "--api-key-file",
        type=Path,
        default=os.environ.get("QWEN_API_KEY_FILE"),
        help="file holding the API key, mode 600 (env QWEN_API_KEY_FILE)",
    )
    qwen.add_argument(
        "--region",
        type=_region,
        default=os.environ.get("QWEN_ASR_REGION", DEFAULT_REGION),
        help="intl (Singapore), cn (Beijing) or a ws:// / wss:// URL "
        f"(default {DEFAULT_REGION}; env QWEN_ASR_REGION)",
    )
    qwen.add_argument(
        "--allow-insecure",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow a ws:// --region on another machine, which sends the API key and audio "
        "unencrypted (ws:// to this machine is always allowed) (env QWEN_ASR_ALLOW_INSECURE)",
    )
    qwen.add_argument(
        "--model",
        type=_model,
        default=os.environ.get("QWEN_ASR_MODEL", DEFAULT_MODEL),
        help=f"model name (default {DEFAULT_MODEL}; env QWEN_ASR_MODEL)",
    )
    qwen.add_argument(
        "--language",
        type=_language,
        default=os.environ.get("QWEN_ASR_LANGUAGE"),
        help="force a language (en, zh, de, ...) or 'auto'; default: the request's language, "
        "else automatic (env QWEN_ASR_LANGUAGE)",
    )
    qwen.add_argument(
        "--vad",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Qwen server VAD splits utterances; --no-vad: manual mode (env QWEN_ASR_VAD)",
    )
    qwen.add_argument(
        "--vad-threshold",
        type=float_in_range(*VAD_THRESHOLD_RANGE),
        default=os.environ.get("QWEN_ASR_VAD_THRESHOLD", str(DEFAULT_VAD_THRESHOLD)),
        help=f"server VAD threshold -1..1 (default {DEFAULT_VAD_THRESHOLD}; "
        "env QWEN_ASR_VAD_THRESHOLD)",
    )
    qwen.add_argument(
        "--vad-silence-ms",
        type=int_in_range(*SILENCE_MS_RANGE, unit="ms"),
        default=os.environ.get("QWEN_ASR_VAD_SILENCE_MS", str(DEFAULT_SILENCE_MS)),
        help=f"silence that ends an utterance, 200-6000 ms (default {DEFAULT_SILENCE_MS}; "
        "env QWEN_ASR_VAD_SILENCE_MS)",
    )
    qwen.add_argument(
        "--context-file",
        type=Path,
        default=os.environ.get("QWEN_ASR_CONTEXT_FILE"),
        help="text (names, terms) that biases recognition (env QWEN_ASR_CONTEXT_FILE)",
    )
    qwen.add_argument(
        "--coalesce-ms",
        type=int_in_range(0, MAX_COALESCE_MS, unit="ms"),
        default=os.environ.get("QWEN_ASR_COALESCE_MS", str(DEFAULT_COALESCE_MS)),
        help="join small audio pieces into appends of this duration, 0: one append per "
        f"piece (default {DEFAULT_COALESCE_MS}; env QWEN_ASR_COALESCE_MS)",
    )
    qwen.add_argument(
        "--timeout",
        type=float_in_range(0.1, 3600.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_TIMEOUT", "20"),
        help="seconds to wait for the final transcript (default 20; env QWEN_ASR_TIMEOUT)",
    )
    qwen.add_argument(
        "--stall-timeout",
        type=float_in_range(0.0, 3600.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_STALL_TIMEOUT", "3"),
        help="after the end of audio, give up when Qwen sends nothing for this long; "
        "0: only --timeout (default 3; env QWEN_ASR_STALL_TIMEOUT)",
    )
