"""Declare options: each once with its environment variable, its value checked.

A systemd unit or a container configures the server through variables, which ``ps`` does
not show. ``option`` gives a valued option its variable's text as the default: argparse
converts and checks that text as if it had been typed, so a bad value names the option.
``flag`` gives an on/off option the variable read by the one true/false parser
(``parse_flag``), unless the command line sets it (``resolve``, after parsing). ``secret``
declares ``--NAME`` and ``--NAME-file`` with ``VARIABLE`` and ``VARIABLE_FILE``: the file
keeps the secret off both the command line and the environment. A help text names the
default and the variable at the end of each help text, written here only. The value types
raise ArgumentTypeError, which argparse reports with the option's name.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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


FILE_SUFFIX = "_FILE"

# An argument parser or one of its groups.
Container = argparse._ActionsContainer


@dataclass(frozen=True, slots=True)
class FromEnv:
    """Stand for a flag not given on the command line until ``resolve`` reads ``variable``."""

    variable: str
    default: bool


def option(
    container: Container,
    *flags: str,
    env: str,
    default: Any = None,
    blank_is_unset: bool = False,
    shown_default: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """Add a valued option whose default is ``env``'s text when it is set, else ``default``.

    Its help ends with the default (``shown_default`` if given, else ``default``'s value)
    and the variable.
    """
    value: Any = os.environ.get(env)
    if value is None or (blank_is_unset and not value):
        value = default
    shown = shown_default if shown_default is not None else _shown(default)
    return container.add_argument(*flags, default=value, **_with_tail(kwargs, env, shown))


def flag(
    container: Container, *flags: str, env: str, default: bool = False, **kwargs: Any
) -> argparse.Action:
    """Add an on/off option (``store_true`` unless another action is given) read from ``env``."""
    kwargs.setdefault("action", "store_true")
    shown = "on" if default else None
    return container.add_argument(
        *flags, default=FromEnv(env, default), **_with_tail(kwargs, env, shown)
    )


def secret(
    container: Container,
    name: str,
    *,
    env: str,
    help: str,
    file_help: str,
    metavar: str | None = None,
    file_metavar: str | None = None,
) -> None:
    """Add ``name`` and ``name-file`` with ``env`` and ``env_FILE`` (the ``_FILE`` convention)."""
    option(container, name, env=env, metavar=metavar, help=help)
    option(
        container,
        f"{name}-file",
        env=env + FILE_SUFFIX,
        type=Path,
        metavar=file_metavar,
        help=file_help,
    )


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Replace each flag the command line left unset by its variable's value (or default).

    Raise UsageError naming a variable that is not a true/false word.
    """
    for name, value in vars(args).items():
        if isinstance(value, FromEnv):
            raw = os.environ.get(value.variable)
            setattr(args, name, value.default if raw is None else parse_flag(raw, value.variable))
    return args


def _shown(default: Any) -> str | None:
    """Return how a help text shows ``default`` (None: not at all)."""
    if default is None:
        return None
    return f"{default:g}" if isinstance(default, float) else str(default)


def _with_tail(kwargs: dict[str, Any], env: str, shown: str | None) -> dict[str, Any]:
    """Return ``kwargs`` with ``(default SHOWN; env VARIABLE)`` at the end of the help text.

    Written into the text before ``add_argument``, not left to argparse's ``%(default)s``:
    the shown default is the built-in one, whatever the variable holds, and Python 3.14's
    argparse checks each help text against the action's own attributes.
    """
    text = kwargs.get("help")
    if not isinstance(text, str) or text == argparse.SUPPRESS:
        return kwargs
    # A % in the shown default (the logging format) is text, not an argparse placeholder.
    tail = f"default {shown.replace('%', '%%')}; env {env}" if shown is not None else f"env {env}"
    return {**kwargs, "help": f"{text.rstrip()} ({tail})"}
