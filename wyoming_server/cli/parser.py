"""Parse the command line: ``serve`` (the default) or another subcommand.

The subcommands are ``serve``, ``transcribe``, ``check``, ``demo``, ``listen``, ``mic``,
``health`` and ``addon``. Only the subcommand that runs is imported and gets its options (its
module here, e.g. ``serve``), so that ``health``, run by a container every 30 s, does not load the
speech-to-text stack. Every option can also come from an environment variable (shown in
``--help``), so a systemd unit or container can configure the server without putting the
key on the command line, where other users could read it in the process list.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Coroutine
from typing import Any, NoReturn, Protocol, cast

from .. import __version__
from .options import resolve

PROG = "wyoming-qwen-asr"
# Each subcommand's one-line help, shown by the top-level --help without importing it.
_HELP = {
    "serve": "run the Wyoming server (default)",
    "transcribe": "print the transcript of WAV files (tests a key)",
    "check": "send the bundled recordings through the service and report how it behaves",
    "demo": "offline demo: emulator + server + bundled speech (uses Qwen if a key is set)",
    "listen": "live transcripts from the microphone: checks mic, key and language at once "
    "(uses the local emulator when no key is set)",
    "mic": "serve the ALSA microphone as a Wyoming mic service (for wyoming-satellite)",
    "health": "check that a server answers Describe with Info (exit 0: healthy, 1: not)",
    "addon": "the Home Assistant add-on's run script (options.json -> the server)",
}
COMMANDS = tuple(_HELP)


class Subcommand(Protocol):
    """The module of one subcommand (``wyoming_server.cli.<name>``)."""

    DESCRIPTION: str | None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the subcommand's options to its parser."""

    def prepare(self, args: argparse.Namespace, argv: list[str]) -> int | Coroutine[Any, Any, int]:
        """Check the options; return an exit status, or the coroutine that runs the command.

        Raise UsageError or ValueError (one line, exit status 2) for an unusable option.
        """


def subcommand(name: str) -> Subcommand:
    """Import the module of subcommand ``name``: the one place a subcommand is imported."""
    return cast(Subcommand, importlib.import_module(f"{__package__}.{name}"))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message names the offending option.
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the parser; only ``command``'s subparser gets its options."""
    parser = _Parser(
        prog=PROG,
        description="Wyoming speech-to-text server for Home Assistant, backed by "
        "Alibaba Qwen3-ASR-Flash-Realtime. Without a subcommand, 'serve' runs.",
        # The options, and the environment variable of each, belong to the subcommands.
        epilog="The options and their environment variables are listed by each subcommand's "
        f"--help, e.g. '{PROG} serve --help' for the server's.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in _HELP.items():
        if name != command:
            commands.add_parser(name, help=text)
            continue
        module = subcommand(name)
        module.add_arguments(commands.add_parser(name, help=text, description=module.DESCRIPTION))
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse, inserting the default ``serve`` command when none is named.

    Raise UsageError when an on/off variable is neither true nor false.
    """
    if not any(arg in COMMANDS for arg in argv[:1]) and not set(argv[:1]) & {
        "-h",
        "--help",
        "--version",
    }:
        argv = ["serve", *argv]
    command = argv[0] if argv[0] in COMMANDS else None
    return resolve(build_parser(command).parse_args(argv))
