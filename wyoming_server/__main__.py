"""Entry point: ``wyoming-qwen-asr`` and ``python -m wyoming_server``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import sys

from . import __version__
from .cli import (
    UsageError,
    build_settings,
    configure_logging,
    parse_args,
    protect_secret,
    read_api_key,
)
from .hass import HassConfig, HomeNamesSource
from .hass.args import hass_config
from .health import run_health
from .mic import check_mic_args, print_mic_devices, run_listen, run_mic_command, start_mic_or_report
from .server import parse_uri, serve

_LOGGER = logging.getLogger(__name__)

_ENABLE = {"1", "true", "yes", "on"}
_DISABLE = {"0", "false", "no", "off"}


def _zeroconf_name(value: str | None) -> str | None:
    """None: no advertisement; "": the default name; else the given name."""
    if value is None or value.strip().lower() in _DISABLE:
        return None
    return "" if value.strip().lower() in _ENABLE else value.strip()


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.command == "health":
            return run_health(args)
        configure_logging(args)
        if getattr(args, "mic_list", False):
            return print_mic_devices()
        if args.command == "mic":
            return run_mic_command(args)
        # Without a key, demo and listen use the local emulator.
        api_key = read_api_key(args, required=args.command not in ("demo", "listen"), argv=argv)
        protect_secret(api_key)
        hass = hass_config(args) if args.command == "serve" else None
        if hass is not None:
            protect_secret(hass.token)
        settings = build_settings(args, api_key)
        if args.command in ("serve", "listen"):
            check_mic_args(args)
        if args.command == "serve":
            parse_uri(args.uri)  # reject a bad URI before anything starts
    except (UsageError, ValueError) as err:
        print(f"wyoming-qwen-asr: error: {err}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_run_command(args, settings, hass))
    return 130


async def _run_command(
    args: argparse.Namespace, settings: object, hass: HassConfig | None = None
) -> int:
    from .settings import ServerSettings  # noqa: PLC0415

    assert isinstance(settings, ServerSettings)
    if args.command == "transcribe":
        from .transcribe import transcribe_files  # noqa: PLC0415

        return await transcribe_files(settings, args.files, realtime=not args.fast)
    if args.command == "check":
        from .check import run_check  # noqa: PLC0415

        return await run_check(settings, trace_path=args.trace)
    if args.command == "demo":
        from .demo import run_demo  # noqa: PLC0415

        return await run_demo(settings, args.files, realtime=not args.fast)
    if args.command == "listen":
        return await run_listen(args, settings)
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
        await serve(settings, args.uri, zeroconf_name=_zeroconf_name(args.zeroconf))
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


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
