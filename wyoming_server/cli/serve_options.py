"""``serve``'s options that reach other services: a fallback ASR and Home Assistant.

``--fallback-uri`` and its timeouts; ``--hass-url`` / ``--hass-token`` /
``--hass-token-file``. Inside a Home Assistant add-on (``homeassistant_api: true``) the
Supervisor provides ``SUPERVISOR_TOKEN`` and proxies Core at ``http://supervisor/core``:
with neither Home Assistant option given, that is used.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from qwen_asr_realtime import (
    DEFAULT_FIRST_SECONDS,
    DEFAULT_MAX_SECONDS,
    CircuitBreaker,
    SecretFormatError,
    check_secret,
)

from ..addresses import parse_uri
from ..fallback import (
    DEFAULT_ANSWER_TIMEOUT_SECONDS,
    DEFAULT_CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_HELD_SECONDS,
    FallbackEngine,
    HeldAudio,
)
from ..hass.connection import SUPERVISOR_URL, HassConfig, websocket_url
from .options import flag, float_in_range, given_on_command_line, option, secret
from .secret_file import read_secret_file

_LOGGER = logging.getLogger(__name__)


def _tcp_uri(value: str) -> str:
    try:
        address = parse_uri(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if address.scheme != "tcp":
        raise argparse.ArgumentTypeError(f"the fallback must be a tcp://HOST:PORT URI: {value!r}")
    return value


def add_fallback_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--fallback-uri``: another Wyoming ASR that answers when Qwen fails."""
    group = parser.add_argument_group("fallback (another Wyoming ASR answers when Qwen fails)")
    option(
        group,
        "--fallback-uri",
        env="QWEN_ASR_FALLBACK_URI",
        type=_tcp_uri,
        metavar="tcp://HOST:PORT",
        help="a Wyoming speech-to-text service (e.g. wyoming-faster-whisper) that gets the "
        "request's audio when Qwen cannot be reached, drops, stalls or is rate limited",
    )
    flag(
        group,
        "--fallback-on-auth-error",
        env="QWEN_ASR_FALLBACK_ON_AUTH_ERROR",
        help="use the fallback for a rejected API key too; by default that answers an "
        "error, so that the key gets fixed",
    )
    option(
        group,
        "--fallback-connect-timeout",
        env="QWEN_ASR_FALLBACK_CONNECT_TIMEOUT",
        default=DEFAULT_CONNECT_TIMEOUT_SECONDS,
        type=float_in_range(0.05, 60.0, unit="seconds"),
        help="seconds to connect to the fallback",
    )
    option(
        group,
        "--fallback-timeout",
        env="QWEN_ASR_FALLBACK_TIMEOUT",
        default=DEFAULT_ANSWER_TIMEOUT_SECONDS,
        type=float_in_range(0.1, 600.0, unit="seconds"),
        help="seconds after the end of audio to wait for the fallback's transcript",
    )
    option(
        group,
        "--fallback-retry-seconds",
        env="QWEN_ASR_FALLBACK_RETRY_SECONDS",
        default=DEFAULT_FIRST_SECONDS,
        type=float_in_range(0.0, 3600.0, unit="seconds"),
        help="after a failure, new requests skip Qwen this long, doubling per failure up to "
        f"{DEFAULT_MAX_SECONDS:g} s; 0: always try Qwen first",
    )
    option(
        group,
        "--fallback-max-held-seconds",
        env="QWEN_ASR_FALLBACK_MAX_HELD_SECONDS",
        default=DEFAULT_MAX_HELD_SECONDS,
        type=float_in_range(1.0, 86_400.0, unit="seconds"),
        metavar="S",
        help="the audio all requests together keep for the fallback, at 32 kB a second; "
        "beyond, a request's audio is not kept and Qwen's failure is answered as is",
    )


def fallback_engine(args: argparse.Namespace) -> FallbackEngine | None:
    """Return the fallback the options name, or None."""
    uri: str | None = getattr(args, "fallback_uri", None)
    if not uri:
        return None
    address = parse_uri(uri)
    first = args.fallback_retry_seconds
    return FallbackEngine(
        host=address.host,
        port=address.port,
        connect_timeout=args.fallback_connect_timeout,
        answer_timeout=args.fallback_timeout,
        on_auth_error=args.fallback_on_auth_error,
        breaker=CircuitBreaker(first, max(DEFAULT_MAX_SECONDS, first)),
        held=HeldAudio(args.fallback_max_held_seconds),
    )


def _url(value: str) -> str:
    try:
        websocket_url(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def add_hass_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Home Assistant to read the home's names from."""
    group = parser.add_argument_group(
        "Home Assistant names (exposed entities, areas, floors as recognition context)"
    )
    option(
        group,
        "--hass-url",
        env="QWEN_ASR_HASS_URL",
        type=_url,
        metavar="URL",
        help="Home Assistant, e.g. https://homeassistant.local:8123 (http:// only to this "
        "host); in an add-on the Supervisor is used",
    )
    secret(
        group,
        "--hass-token",
        env="QWEN_ASR_HASS_TOKEN",
        metavar="TOKEN",
        help="long-lived access token of an administrator; prefer the variable or "
        "--hass-token-file: a command line is visible in ps",
        file_metavar="FILE",
        file_help="file holding the token, mode 600",
    )


def hass_config(args: argparse.Namespace, argv: list[str] | None = None) -> HassConfig | None:
    """Return the Home Assistant to read names from, or None; raise ValueError (one line)."""
    url: str | None = getattr(args, "hass_url", None)
    token = _token(args, argv)
    if url is None and token is None:
        # Not an option: the Supervisor gives an add-on its token this way.
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
