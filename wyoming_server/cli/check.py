"""``check``: send the bundled recordings through the service and report how it behaves."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ..check import run_check
from .log_options import configure_logging
from .qwen_options import add_qwen_arguments
from .settings import qwen_settings

DESCRIPTION = (
    "Send the bundled recordings through the Qwen service in VAD and manual "
    "mode; print timings, transcripts and how the service's events differ from the live "
    "service as observed. Exit status 0 when every recording is transcribed right."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options and ``--trace``."""
    add_qwen_arguments(parser)
    parser.add_argument(
        "--trace",
        type=Path,
        metavar="FILE",
        help="write every event both ways to FILE as JSON lines (audio elided, no key), "
        "to attach to a bug report",
    )


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Read the key and settings; return the coroutine that runs the check."""
    configure_logging(args)
    settings = qwen_settings(args, argv)
    return run_check(settings, trace_path=args.trace)
