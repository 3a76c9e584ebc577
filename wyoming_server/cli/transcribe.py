"""``transcribe``: print the transcript of WAV files (tests a key)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ..transcribe import transcribe_files
from .log_options import configure_logging
from .qwen_options import add_qwen_arguments, add_wav_arguments
from .settings import qwen_settings

DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options, the files and ``--fast``."""
    add_qwen_arguments(parser)
    add_wav_arguments(parser, required=True)


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Read the key and settings; return the coroutine that transcribes the files."""
    configure_logging(args)
    settings = qwen_settings(args, argv)
    return transcribe_files(settings, args.files, realtime=not args.fast)
