"""``transcribe``: print the transcript of WAV files (tests a key)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from ..transcribe import transcribe_files
from .log_options import configure_logging
from .qwen_options import add_qwen_arguments
from .settings import qwen_settings

DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options, the files and ``--fast``."""
    add_qwen_arguments(parser)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    parser.add_argument(
        "--fast", action="store_true", help="send audio as fast as possible, not in real time"
    )


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Read the key and settings; return the coroutine that transcribes the files."""
    configure_logging(args)
    settings = qwen_settings(args, argv)
    return transcribe_files(settings, args.files, realtime=not args.fast)
