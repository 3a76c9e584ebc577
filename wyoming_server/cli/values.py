"""Check option values: numbers in a range, true/false words, where an option was given."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

_N = TypeVar("_N", int, float)

# The words a true/false variable accepts (an empty value is false).
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


class UsageError(Exception):
    """Report a bad option value as one line with exit code 2."""


def flag_word(value: str) -> bool | None:
    """Return True or False for a true/false word, None for any other text."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    return False if word in FALSE_WORDS else None


def parse_flag(raw: str, variable: str) -> bool:
    """Return the value of the true/false ``variable`` set to ``raw``; empty is false.

    Raise UsageError naming the variable for any other text.
    """
    value = flag_word(raw) if raw.strip() else False
    if value is None:
        raise UsageError(f"environment variable {variable} must be true or false, not {raw!r}")
    return value


def int_in_range(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    """Return an integer option type within [low, high]; its errors name the range."""
    return _in_range(int, "an integer", low, high, unit)


def float_in_range(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """Return a number option type within [low, high]."""
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
