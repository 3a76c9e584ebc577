"""``health``: check that a Wyoming server answers ``Describe`` with ``Info`` (exit 0, else 1)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ..health import DEFAULT_TIMEOUT_SECONDS, run_health
from .options import float_in_range, option
from .shared_options import DEFAULT_URI, add_state_file_argument

DESCRIPTION = (
    "Send Describe to a Wyoming server and wait for its Info; exit status 0 "
    "when it answers within the timeout, else 1 (for container health checks)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the server's URI (the one it listens on, by default), the timeout, the usage file."""
    option(
        parser,
        "--uri",
        env="QWEN_ASR_URI",
        default=DEFAULT_URI,
        shown_default=f"{DEFAULT_URI}, the server's own",
        help="the server's URI; a wildcard host is checked on loopback",
    )
    parser.add_argument(
        "--timeout",
        type=float_in_range(0.1, 600.0, unit="seconds"),
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the whole exchange (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    add_state_file_argument(parser)  # today's usage, when --daily-audio-minutes counts it


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Ask the server; return the exit status (0: healthy, 1: not)."""
    return run_health(args)
