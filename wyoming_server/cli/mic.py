"""``mic``: serve the ALSA microphone as a Wyoming mic service, without the Qwen stack."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import Any

from ..mic.command import serve_until_stopped
from ..mic.devices import print_mic_devices
from .access_options import add_access_arguments
from .log_options import add_log_arguments, configure_logging
from .mic_options import DEFAULT_MIC_URI, add_mic_arguments, check_mic_args

DESCRIPTION = (
    "Serve the microphone as a Wyoming mic service on its own, so that the "
    "speech-to-text server and the microphone can be restarted apart."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the logging and capture options, ``--mic-uri`` on loopback by default."""
    add_log_arguments(parser)
    add_mic_arguments(parser, uri_default=DEFAULT_MIC_URI)
    add_access_arguments(parser)


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Check the options; return the coroutine that serves the microphone."""
    configure_logging(args)
    if args.mic_list:
        return print_mic_devices()
    check_mic_args(args)
    return serve_until_stopped(args)
