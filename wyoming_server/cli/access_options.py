"""``--allow-clients``: who may connect, one option for the STT service and the mic service."""

from __future__ import annotations

import argparse

from ..access import DEFAULT_SPEC, ClientFilter
from .options import option


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
        help="client addresses the STT and mic services accept: 'private' (loopback, 10/8, "
        "172.16/12, 192.168/16, link-local, fc00::/7), networks such as 192.168.1.0/24,::1, "
        "or 'any'; unix:// and stdio:// clients are always accepted",
    )
