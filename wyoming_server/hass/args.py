"""``--hass-url`` / ``--hass-token`` / ``--hass-token-file``, each with an environment variable.

Inside a Home Assistant add-on (``homeassistant_api: true``) the Supervisor provides
``SUPERVISOR_TOKEN`` and proxies Core at ``http://supervisor/core``: with neither option
given, that is used.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from qwen_asr_realtime import SecretFormatError, check_secret

from ..arg_types import given_on_command_line
from ..secret_file import read_secret_file
from .connection import SUPERVISOR_URL, HassConfig, websocket_url

_LOGGER = logging.getLogger(__name__)


def _url(value: str) -> str:
    try:
        websocket_url(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def add_hass_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Home Assistant names (exposed entities, areas, floors as recognition context)"
    )
    group.add_argument(
        "--hass-url",
        type=_url,
        default=os.environ.get("QWEN_ASR_HASS_URL"),
        metavar="URL",
        help="Home Assistant, e.g. https://homeassistant.local:8123 (http:// only to this "
        "host); in an add-on the Supervisor is used (env QWEN_ASR_HASS_URL)",
    )
    group.add_argument(
        "--hass-token",
        default=os.environ.get("QWEN_ASR_HASS_TOKEN"),
        metavar="TOKEN",
        help="long-lived access token of an administrator (env QWEN_ASR_HASS_TOKEN; "
        "prefer it or --hass-token-file: a command line is visible in ps)",
    )
    group.add_argument(
        "--hass-token-file",
        type=Path,
        default=os.environ.get("QWEN_ASR_HASS_TOKEN_FILE"),
        metavar="FILE",
        help="file holding the token, mode 600 (env QWEN_ASR_HASS_TOKEN_FILE)",
    )


def hass_config(args: argparse.Namespace, argv: list[str] | None = None) -> HassConfig | None:
    """The Home Assistant to read names from, or None; raises ValueError (one line)."""
    url: str | None = getattr(args, "hass_url", None)
    token = _token(args, argv)
    if url is None and token is None:
        supervisor_token = os.environ.get("SUPERVISOR_TOKEN", "").strip()
        if not supervisor_token:
            return None
        url, token = SUPERVISOR_URL, supervisor_token
    if url is None:
        raise ValueError("--hass-token needs --hass-url")
    if token is None:
        raise ValueError("--hass-url needs --hass-token or --hass-token-file")
    return HassConfig(url=websocket_url(url), token=token)


def _token(args: argparse.Namespace, argv: list[str] | None) -> str | None:
    if args.hass_token:
        if given_on_command_line("--hass-token", argv):
            _LOGGER.warning(
                "--hass-token on the command line is visible to other users in ps; "
                "use QWEN_ASR_HASS_TOKEN or --hass-token-file"
            )
        # The rule of --hass-token-file: one line of printable ASCII, as every real token.
        try:
            return check_secret(str(args.hass_token), "the Home Assistant token")
        except SecretFormatError as err:
            raise ValueError(str(err)) from None
    path: Path | None = args.hass_token_file
    return None if path is None else read_secret_file(path, "--hass-token-file")
