"""The ``--mic-*`` options (``serve``, ``listen`` and ``mic``) and ``listen``'s own."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..addresses import parse_uri
from .options import int_in_range, option

DEFAULT_DEVICE = "default"
DEFAULT_RATE = 16000
DEFAULT_CHANNELS = 1
DEFAULT_SAMPLES_PER_CHUNK = 1024
# Loopback: a satellite on the same Pi reaches it; nobody else can listen to the room.
DEFAULT_MIC_URI = "tcp://127.0.0.1:10301"


def _mic_uri(value: str) -> str:
    try:
        address = parse_uri(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if address.scheme == "stdio":
        raise argparse.ArgumentTypeError("the mic service listens on tcp:// or unix://")
    return value


class _Capture(argparse.Action):
    """Store the value and note the option as given on the command line (``mic_given``)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        given = [*getattr(namespace, "mic_given", ()), self.option_strings[0]]
        namespace.mic_given = list(dict.fromkeys(given))


def add_mic_arguments(
    parser: argparse.ArgumentParser, *, with_uri: bool = True, uri_default: str | None = None
) -> None:
    """Add the capture options; ``with_uri`` adds ``--mic-uri`` (the Wyoming mic service).

    The service is off unless ``uri_default`` is given (``serve``: off; the ``mic``
    command: loopback).
    """
    mic = parser.add_argument_group("microphone (ALSA)")
    if with_uri:
        what = "serve" if uri_default else "also serve"
        option(
            mic,
            "--mic-uri",
            env="QWEN_ASR_MIC_URI",
            default=uri_default,
            shown_default=uri_default or "off",
            type=_mic_uri,
            metavar="URI",
            help=f"{what} the microphone as a Wyoming mic service, e.g. {DEFAULT_MIC_URI} "
            "(this machine only; a LAN address lets anyone on the network listen)",
        )
    option(
        mic,
        "--mic-device",
        env="QWEN_ASR_MIC_DEVICE",
        default=DEFAULT_DEVICE,
        shown_default=f"'{DEFAULT_DEVICE}', ALSA's default device",
        action=_Capture,
        metavar="NAME",
        help="ALSA capture device, e.g. plughw:CARD=seeed2micvoicec,DEV=0",
    )
    option(
        mic,
        "--mic-rate",
        env="QWEN_ASR_MIC_RATE",
        default=DEFAULT_RATE,
        action=_Capture,
        type=int_in_range(8000, 384_000, unit="Hz"),
        help="capture sample rate; converted to 16000",
    )
    option(
        mic,
        "--mic-channels",
        env="QWEN_ASR_MIC_CHANNELS",
        default=DEFAULT_CHANNELS,
        action=_Capture,
        type=int_in_range(1, 32),
        help="capture channels; mixed to mono",
    )
    option(
        mic,
        "--mic-samples-per-chunk",
        env="QWEN_ASR_MIC_SAMPLES_PER_CHUNK",
        default=DEFAULT_SAMPLES_PER_CHUNK,
        action=_Capture,
        type=int_in_range(1, 65_536),
        help="frames per ALSA read",
    )
    mic.add_argument(
        "--mic-list", action="store_true", help="print the ALSA capture devices and exit"
    )


def add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``listen`` subcommand's own options (the Qwen options come from elsewhere)."""
    add_mic_arguments(parser, with_uri=False)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per event instead of text"
    )


def check_mic_args(args: argparse.Namespace) -> None:
    """Raise ValueError (one line) for mic options that argparse cannot check alone."""
    if not str(getattr(args, "mic_device", DEFAULT_DEVICE) or "").strip():
        raise ValueError("--mic-device must not be empty")
    given = getattr(args, "mic_given", [])
    # serve captures only to serve the microphone: without --mic-uri these would be ignored.
    # (Their variables are not refused: one environment file may serve both commands.)
    if given and hasattr(args, "mic_uri") and not args.mic_uri:
        raise ValueError(
            f"{given[0]} needs --mic-uri: serve opens the microphone only to serve it as a "
            f"Wyoming mic service (e.g. --mic-uri {DEFAULT_MIC_URI}); to transcribe it, "
            "use the listen command"
        )
