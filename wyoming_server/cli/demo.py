"""``demo``: the emulator, the server and bundled speech, offline (Qwen when a key is set)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ..demo import run_demo
from .log_options import configure_logging
from .qwen_options import add_qwen_arguments, add_wav_arguments
from .settings import qwen_settings

DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options, the files and ``--fast``."""
    add_qwen_arguments(parser)
    add_wav_arguments(parser, required=False)


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Read the settings (no key: the local emulator); return the coroutine of the demo."""
    configure_logging(args)
    settings = qwen_settings(args, argv, key_required=False)
    return run_demo(settings, args.files, realtime=not args.fast)
