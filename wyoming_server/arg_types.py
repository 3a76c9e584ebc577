"""argparse value types shared by the server's and the microphone's options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

_N = TypeVar("_N", int, float)


def int_in_range(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """An integer option within [low, high]; errors name the range so argparse can report it."""
    return _in_range(int, "an integer", low, high, unit)


def float_in_range(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """A number option within [low, high]."""
    return _in_range(float, "a number", low, high, unit)


def _in_range(
    convert: Callable[[str], _N], kind: str, low: _N, high: _N, unit: str
) -> Callable[[str], _N]:
    suffix = f" {unit}" if unit else ""

    def parse(value: str) -> _N:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}{suffix}")
        return number

    return parse


def given_on_command_line(option: str, argv: list[str] | None = None) -> bool:
    """Tell whether ``option`` is on the command line (``argv``, default: this process's).

    A secret given there is visible to every user in ``ps``, unlike its variable or file.
    """
    args = sys.argv[1:] if argv is None else argv
    return any(arg == option or arg.startswith(f"{option}=") for arg in args)
