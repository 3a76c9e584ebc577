"""``addon``: run as the Home Assistant add-on, its options becoming the server's variables."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ..addon import OPTIONS_FILE, PORT, AddonError, run_addon
from .log_options import DEFAULT_LOG_FORMAT
from .options import int_in_range

DESCRIPTION = (
    "The add-on's run script: read the options the Supervisor wrote, run the server with "
    "them as its environment variables, and announce it through the Supervisor's discovery "
    "API once it answers."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options file and the port (the Supervisor's, by default)."""
    parser.add_argument(
        "--options",
        type=Path,
        default=OPTIONS_FILE,
        help="the add-on's options, as the Supervisor writes them (default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int_in_range(1, 65_535),
        default=PORT,
        help="the server's port (default %(default)s)",
    )


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Return the coroutine that runs the add-on (the server's exit status; 2: bad options)."""
    logging.basicConfig(level=logging.INFO, format=DEFAULT_LOG_FORMAT, stream=sys.stderr)
    return _run(args.options, args.port)


async def _run(options: Path, port: int) -> int:
    try:
        return await run_addon(options, port)
    except AddonError as err:
        print(f"wyoming-qwen-asr add-on: error: {err}", file=sys.stderr)
        return 2
