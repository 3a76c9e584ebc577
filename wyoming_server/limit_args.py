"""The server's limits: what the key's owner pays for, and fairness between clients.

``--max-sessions``, ``--max-request-seconds``, ``--daily-audio-minutes``, ``--state-file``;
connections, idle time, sessions per client and minute, slow audio.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .arg_types import float_in_range, int_in_range
from .audio_budget import default_state_file
from .limits import (
    DEFAULT_IDLE_CONNECTION_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_SESSIONS_PER_MINUTE,
    DEFAULT_MIN_AUDIO_RATE,
    DEFAULT_SLOW_AUDIO_GRACE_SECONDS,
)

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
    _add_fairness_arguments(parser)


def _add_fairness_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fairness between clients (one device cannot take all)")
    group.add_argument(
        "--max-connections",
        type=int_in_range(1, 100_000),
        default=os.environ.get("QWEN_ASR_MAX_CONNECTIONS", str(DEFAULT_MAX_CONNECTIONS)),
        metavar="N",
        help="connections open at once; beyond, a new one gets Error too-many-connections "
        f"(default {DEFAULT_MAX_CONNECTIONS}; env QWEN_ASR_MAX_CONNECTIONS)",
    )
    group.add_argument(
        "--max-connections-per-client",
        type=int_in_range(1, 100_000),
        default=os.environ.get(
            "QWEN_ASR_MAX_CONNECTIONS_PER_CLIENT", str(DEFAULT_MAX_CONNECTIONS_PER_CLIENT)
        ),
        metavar="N",
        help="connections one client address may hold open "
        f"(default {DEFAULT_MAX_CONNECTIONS_PER_CLIENT}; env QWEN_ASR_MAX_CONNECTIONS_PER_CLIENT)",
    )
    group.add_argument(
        "--idle-seconds",
        type=float_in_range(0.1, 86_400.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_IDLE_SECONDS", str(DEFAULT_IDLE_CONNECTION_SECONDS)),
        metavar="S",
        help="a connection with no request in progress is closed after this long; Home "
        "Assistant opens one per request "
        f"(default {DEFAULT_IDLE_CONNECTION_SECONDS:g}; env QWEN_ASR_IDLE_SECONDS)",
    )
    group.add_argument(
        "--max-sessions-per-client",
        type=int_in_range(1, 10_000),
        default=os.environ.get("QWEN_ASR_MAX_SESSIONS_PER_CLIENT"),
        metavar="N",
        help="Qwen sessions one client address may hold at once; beyond, busy (default: half "
        "of --max-sessions, rounded up; env QWEN_ASR_MAX_SESSIONS_PER_CLIENT)",
    )
    group.add_argument(
        "--max-sessions-per-minute",
        type=int_in_range(1, 1_000_000),
        default=os.environ.get(
            "QWEN_ASR_MAX_SESSIONS_PER_MINUTE", str(DEFAULT_MAX_SESSIONS_PER_MINUTE)
        ),
        metavar="N",
        help="Qwen sessions one client address may open in any minute; beyond, Error "
        "rate-limited. A session opens at a request's first audio "
        f"(default {DEFAULT_MAX_SESSIONS_PER_MINUTE}; env QWEN_ASR_MAX_SESSIONS_PER_MINUTE)",
    )
    group.add_argument(
        "--min-audio-rate",
        type=float_in_range(0.0, 1.0),
        default=os.environ.get("QWEN_ASR_MIN_AUDIO_RATE", str(DEFAULT_MIN_AUDIO_RATE)),
        metavar="F",
        help="a request whose audio arrives slower than F x real time (after "
        "--slow-audio-grace) is ended with Error audio-too-slow; 0: never "
        f"(default {DEFAULT_MIN_AUDIO_RATE:g}; env QWEN_ASR_MIN_AUDIO_RATE)",
    )
    group.add_argument(
        "--slow-audio-grace",
        type=float_in_range(0.1, 3600.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_SLOW_AUDIO_GRACE", str(DEFAULT_SLOW_AUDIO_GRACE_SECONDS)),
        metavar="S",
        help="how long a request's audio may arrive slowly before --min-audio-rate applies "
        f"(default {DEFAULT_SLOW_AUDIO_GRACE_SECONDS:g}; env QWEN_ASR_SLOW_AUDIO_GRACE)",
    )


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
        "max_connections": args.max_connections,
        "max_connections_per_client": args.max_connections_per_client,
        "idle_connection_seconds": args.idle_seconds,
        "max_sessions_per_client": args.max_sessions_per_client,
        "max_sessions_per_minute": args.max_sessions_per_minute,
        "min_audio_rate": args.min_audio_rate,
        "slow_audio_grace_seconds": args.slow_audio_grace,
    }
