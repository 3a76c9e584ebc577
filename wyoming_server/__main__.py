"""Entry point: ``wyoming-qwen-asr`` and ``python -m wyoming_server``."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from .cli.options import UsageError
from .cli.parser import PROG, parse_args, subcommand


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand the command line names; return the exit status.

    A bad option is one line on stderr and exit status 2; Ctrl-C is 130.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
        outcome = subcommand(args.command).prepare(args, argv)
    except (UsageError, ValueError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    if isinstance(outcome, int):
        return outcome
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(outcome)
    return 130


def run() -> None:
    """Exit with the status of ``main`` (the console script)."""
    sys.exit(main())


if __name__ == "__main__":
    run()
