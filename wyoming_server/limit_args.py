"""``--max-sessions``, ``--max-request-seconds``, ``--daily-audio-minutes``, ``--state-file``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .arg_types import float_in_range, int_in_range
from .audio_budget import default_state_file
from .limits import DEFAULT_MAX_SESSIONS

DEFAULT_MAX_REQUEST_SECONDS = 300.0


def add_state_file_argument(parser: argparse.ArgumentParser | Any) -> None:
    """The audio usage file; shared by ``serve`` (writes it) and ``health`` (reports it)."""
    parser.add_argument(
        "--state-file",
        type=Path,
        default=os.environ.get("QWEN_ASR_STATE_FILE") or default_state_file(),
        metavar="FILE",
        help="where --daily-audio-minutes keeps today's count (default "
        "$STATE_DIRECTORY/audio-usage.json, else ~/.local/state/wyoming-qwen-asr/"
        "audio-usage.json; env QWEN_ASR_STATE_FILE)",
    )


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits (what the key's owner pays for)")
    group.add_argument(
        "--max-sessions",
        type=int_in_range(1, 10_000),
        default=os.environ.get("QWEN_ASR_MAX_SESSIONS", str(DEFAULT_MAX_SESSIONS)),
        metavar="N",
        help="Qwen sessions open at once; the next request is refused as busy "
        f"(default {DEFAULT_MAX_SESSIONS}; env QWEN_ASR_MAX_SESSIONS)",
    )
    group.add_argument(
        "--max-request-seconds",
        type=float_in_range(1.0, 86_400.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_MAX_REQUEST_SECONDS", str(DEFAULT_MAX_REQUEST_SECONDS)),
        metavar="S",
        help="a request that lasts this long is answered with its transcript so far "
        f"(default {DEFAULT_MAX_REQUEST_SECONDS:g}; env QWEN_ASR_MAX_REQUEST_SECONDS)",
    )
    group.add_argument(
        "--daily-audio-minutes",
        type=float_in_range(0.0, 1440.0 * 1000, unit="minutes"),
        default=os.environ.get("QWEN_ASR_DAILY_AUDIO_MINUTES"),
        metavar="M",
        help="audio sent to Qwen per UTC day; beyond it requests are refused "
        "(default: no limit; env QWEN_ASR_DAILY_AUDIO_MINUTES)",
    )
    add_state_file_argument(group)


def limit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The ServerSettings fields of these options (``serve`` only)."""
    if not hasattr(args, "max_sessions"):
        return {}
    minutes: float | None = args.daily_audio_minutes
    return {
        "max_sessions": args.max_sessions,
        "max_request_seconds": args.max_request_seconds,
        "daily_audio_seconds": None if minutes is None else minutes * 60.0,
        "state_file": args.state_file,
        "allow_clients": args.allow_clients,
    }
