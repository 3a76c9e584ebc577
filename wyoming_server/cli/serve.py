"""``serve`` (the default subcommand): run the Wyoming server."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Coroutine
from typing import Any

from .. import __version__
from ..addresses import parse_uri
from ..hass import HassConfig, HomeNamesSource
from ..mic.command import start_mic_or_report
from ..mic.devices import print_mic_devices
from ..server import serve
from ..settings import Endpointing, ServerSettings
from .access_options import add_access_arguments
from .limit_options import add_limit_arguments
from .log_options import configure_logging, protect_secret
from .mic_options import add_mic_arguments, check_mic_args
from .options import flag, flag_word, option
from .qwen_options import add_qwen_arguments, read_api_key
from .serve_options import add_fallback_arguments, add_hass_arguments, hass_config
from .settings import build_settings
from .shared_options import DEFAULT_URI

_LOGGER = logging.getLogger(__name__)

DESCRIPTION = None


def zeroconf_name(value: str) -> str | None:
    """Return None (no advertisement) for a false word, "" (the default name) for a true one."""
    word = flag_word(value) if value.strip() else None
    if word is not None:
        return "" if word else None
    return value.strip()


def endpointing(text: str) -> Endpointing:
    """Return the ``--endpointing`` value ``text`` names; its error lists the values."""
    try:
        return Endpointing.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {' or '.join(Endpointing)}, not {text!r}"
        ) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Qwen options, the server's own, its limits, microphone, names and fallback."""
    add_qwen_arguments(parser)
    option(
        parser,
        "--uri",
        env="QWEN_ASR_URI",
        default=DEFAULT_URI,
        help="tcp://HOST:PORT, unix://PATH or stdio://",
    )
    option(
        parser,
        "--endpointing",
        env="QWEN_ASR_ENDPOINTING",
        default=Endpointing.HOME_ASSISTANT.value,
        type=endpointing,
        choices=list(Endpointing),
        help="home_assistant: Home Assistant's VAD ends each request; qwen: answer "
        "as soon as Qwen's VAD ends the first utterance (HA 2026.10+); the earlier ha and "
        "server still work",
    )
    option(
        parser,
        "--zeroconf",
        env="QWEN_ASR_ZEROCONF",
        nargs="?",
        const="",
        type=zeroconf_name,
        metavar="NAME",
        help="advertise _wyoming._tcp over mDNS, optionally under NAME",
    )
    # Benchmark baseline (tests/benchmarks): send all audio after AudioStop.
    flag(parser, "--buffered", env="QWEN_ASR_BUFFERED", help=argparse.SUPPRESS)
    add_limit_arguments(parser)
    add_mic_arguments(parser)
    add_access_arguments(parser)  # for the STT and the mic service
    add_hass_arguments(parser)
    add_fallback_arguments(parser)


def prepare(args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
    """Check every option before anything starts; return the coroutine that serves."""
    configure_logging(args)
    if args.mic_list:
        return print_mic_devices()
    api_key = read_api_key(args, argv=argv)
    protect_secret(api_key)
    hass = hass_config(args, argv)
    if hass is not None:
        protect_secret(hass.token)
    settings = build_settings(args, api_key)
    check_mic_args(args)
    parse_uri(args.uri)  # reject a bad URI before anything starts
    return _serve(args, settings, hass)


async def _serve(
    args: argparse.Namespace, settings: ServerSettings, hass: HassConfig | None
) -> int:
    mic = None
    if args.mic_uri:
        mic, status = await start_mic_or_report(args)
        if mic is None:
            return status
    _LOGGER.info("wyoming-qwen-asr %s starting (model %s)", __version__, settings.model)
    home_names = None
    if hass is not None:
        _LOGGER.info("Reading home names from Home Assistant at %s", hass.url)
        home_names = HomeNamesSource(hass)
        home_names.start()
        settings = dataclasses.replace(settings, home_names=home_names)
    try:
        await serve(settings, args.uri, zeroconf_name=args.zeroconf)
    except OSError as err:
        _LOGGER.error("Cannot listen on %s: %s", args.uri, err)
        return 1
    except ImportError:
        _LOGGER.error("--zeroconf needs: pip install 'wyoming-qwen-asr[zeroconf]'")
        return 2
    finally:
        if home_names is not None:
            await home_names.stop()
        if mic is not None:
            await mic.stop()
    return 0
