"""The server's limits: what the key's owner pays for, and fairness between clients.

``--max-sessions``, ``--max-request-seconds``, ``--daily-audio-minutes``, ``--state-file``;
connections, idle time, sessions per client and minute, slow audio.
"""

from __future__ import annotations

import argparse

from qwen_asr_realtime import MAX_REQUEST_SECONDS

from ..limits import (
    DEFAULT_IDLE_CONNECTION_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_SESSIONS_PER_MINUTE,
    DEFAULT_MIN_AUDIO_RATE,
    DEFAULT_SLOW_AUDIO_GRACE_SECONDS,
)
from .options import float_in_range, int_in_range, option
from .shared_options import add_state_file_argument


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """Add what the key's owner pays for, then the fairness between clients."""
    group = parser.add_argument_group("limits (what the key's owner pays for)")
    option(
        group,
        "--max-sessions",
        env="QWEN_ASR_MAX_SESSIONS",
        default=DEFAULT_MAX_SESSIONS,
        type=int_in_range(1, 10_000),
        metavar="N",
        help="Qwen sessions open at once; the next request is refused as busy",
    )
    option(
        group,
        "--max-request-seconds",
        env="QWEN_ASR_MAX_REQUEST_SECONDS",
        default=MAX_REQUEST_SECONDS,
        type=float_in_range(1.0, 86_400.0, unit="seconds"),
        metavar="S",
        help="a request that lasts this long is answered with its transcript so far",
    )
    option(
        group,
        "--daily-audio-minutes",
        env="QWEN_ASR_DAILY_AUDIO_MINUTES",
        type=float_in_range(0.0, 1440.0 * 1000, unit="minutes"),
        metavar="M",
        shown_default="no limit",
        help="audio sent to Qwen per UTC day; beyond it requests are refused",
    )
    add_state_file_argument(group)
    _add_fairness_arguments(parser)


def _add_fairness_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fairness between clients (one device cannot take all)")
    option(
        group,
        "--max-connections",
        env="QWEN_ASR_MAX_CONNECTIONS",
        default=DEFAULT_MAX_CONNECTIONS,
        type=int_in_range(1, 100_000),
        metavar="N",
        help="connections open at once; beyond, a new one gets Error too-many-connections",
    )
    option(
        group,
        "--max-connections-per-client",
        env="QWEN_ASR_MAX_CONNECTIONS_PER_CLIENT",
        default=DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
        type=int_in_range(1, 100_000),
        metavar="N",
        help="connections one client address may hold open",
    )
    option(
        group,
        "--idle-seconds",
        env="QWEN_ASR_IDLE_SECONDS",
        default=DEFAULT_IDLE_CONNECTION_SECONDS,
        type=float_in_range(0.1, 86_400.0, unit="seconds"),
        metavar="S",
        help="a connection with no request in progress is closed after this long; Home "
        "Assistant opens one per request",
    )
    option(
        group,
        "--max-sessions-per-client",
        env="QWEN_ASR_MAX_SESSIONS_PER_CLIENT",
        type=int_in_range(1, 10_000),
        metavar="N",
        shown_default="half of --max-sessions, rounded up",
        help="Qwen sessions one client address may hold at once; beyond, busy",
    )
    option(
        group,
        "--max-sessions-per-minute",
        env="QWEN_ASR_MAX_SESSIONS_PER_MINUTE",
        default=DEFAULT_MAX_SESSIONS_PER_MINUTE,
        type=int_in_range(1, 1_000_000),
        metavar="N",
        help="Qwen sessions one client address may open in any minute; beyond, Error "
        "rate-limited. A session opens at a request's first audio",
    )
    option(
        group,
        "--min-audio-rate",
        env="QWEN_ASR_MIN_AUDIO_RATE",
        default=DEFAULT_MIN_AUDIO_RATE,
        type=float_in_range(0.0, 1.0),
        metavar="F",
        help="a request whose audio arrives slower than F x real time (after "
        "--slow-audio-grace) is ended with Error audio-too-slow; 0: never",
    )
    option(
        group,
        "--slow-audio-grace",
        env="QWEN_ASR_SLOW_AUDIO_GRACE",
        default=DEFAULT_SLOW_AUDIO_GRACE_SECONDS,
        type=float_in_range(0.1, 3600.0, unit="seconds"),
        metavar="S",
        help="how long a request's audio may arrive slowly before --min-audio-rate applies",
    )
