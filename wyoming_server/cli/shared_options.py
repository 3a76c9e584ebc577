"""Options that two subcommands share without the Qwen stack.

``--allow-clients`` (``serve`` and ``mic``) and ``--state-file`` (``serve`` writes the
audio usage, ``health`` reports it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..access import DEFAULT_SPEC, ClientFilter
from ..audio_budget import default_state_file
from .env import Container, option

# Where the server listens unless told (QWEN_ASR_URI); ``health`` checks the same.
DEFAULT_URI = "tcp://0.0.0.0:10300"


def add_state_file_argument(container: Container) -> None:
    """Add the audio usage file; ``serve`` writes it and ``health`` reports it."""
    option(
        container,
        "--state-file",
        env="QWEN_ASR_STATE_FILE",
        default=default_state_file(),
        blank_is_unset=True,
        type=Path,
        metavar="FILE",
        help="where --daily-audio-minutes keeps today's count (default "
        "$STATE_DIRECTORY/audio-usage.json, else ~/.local/state/wyoming-qwen-asr/"
        "audio-usage.json; env %(env)s)",
    )


def _client_filter(value: str) -> ClientFilter:
    try:
        return ClientFilter.parse(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_access_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--allow-clients``: one option for the STT service and the mic service."""
    group = parser.add_argument_group("who may connect")
    option(
        group,
        "--allow-clients",
        env="QWEN_ASR_ALLOW_CLIENTS",
        default=DEFAULT_SPEC,
        type=_client_filter,
        metavar="CIDR[,CIDR...]",
        help="client addresses the STT and mic services accept: 'private' (default: loopback, "
        "10/8, 172.16/12, 192.168/16, link-local, fc00::/7), networks such as "
        "192.168.1.0/24,::1, or 'any'; unix:// and stdio:// clients are always accepted "
        "(env %(env)s)",
    )
