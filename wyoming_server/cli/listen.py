"""``listen``: live transcripts from the microphone (the local emulator without a key)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ..mic.devices import print_mic_devices
from ..mic.listen import run_listen
from .log_options import configure_logging
from .mic_options import add_listen_arguments, check_mic_args
from .qwen_options import add_qwen_arguments
from .settings import qwen_settings

DESCRIPTION = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options, the capture options and ``--json``."""
    add_qwen_arguments(parser)
    add_listen_arguments(parser)


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Check the options; return the coroutine that transcribes the microphone."""
    configure_logging(args)
    if args.mic_list:
        return print_mic_devices()
    settings = qwen_settings(args, argv, key_required=False)
    check_mic_args(args)
    return run_listen(args, settings)
