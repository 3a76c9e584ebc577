"""Declare each option once with its environment variable; the variable sets its default.

A systemd unit or a container configures the server through variables, which ``ps`` does
not show. ``option`` gives a valued option its variable's text as the default: argparse
converts and checks that text as if it had been typed, so a bad value names the option.
``flag`` gives an on/off option the variable read by the one true/false parser, unless
the command line sets it (``resolve``, after parsing). ``secret`` declares ``--NAME`` and
``--NAME-file`` with ``VARIABLE`` and ``VARIABLE_FILE``: the file keeps the secret off both
the command line and the environment. A help text names the variable as ``%(env)s``.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .values import parse_flag

FILE_SUFFIX = "_FILE"

# An argument parser or one of its groups.
Container = argparse._ActionsContainer


@dataclass(frozen=True, slots=True)
class FromEnv:
    """Stand for a flag not given on the command line until ``resolve`` reads ``variable``."""

    variable: str
    default: bool

    def __str__(self) -> str:
        """Show the built-in default (in help texts)."""
        return str(self.default)


def option(
    container: Container,
    *flags: str,
    env: str,
    default: Any = None,
    blank_is_unset: bool = False,
    **kwargs: Any,
) -> argparse.Action:
    """Add a valued option whose default is ``env``'s text when it is set, else ``default``."""
    value: Any = os.environ.get(env)
    if value is None or (blank_is_unset and not value):
        value = default
    return _named(container.add_argument(*flags, default=value, **kwargs), env)


def flag(
    container: Container, *flags: str, env: str, default: bool = False, **kwargs: Any
) -> argparse.Action:
    """Add an on/off option (``store_true`` unless another action is given) read from ``env``."""
    kwargs.setdefault("action", "store_true")
    return _named(container.add_argument(*flags, default=FromEnv(env, default), **kwargs), env)


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


def _named(action: argparse.Action, env: str) -> argparse.Action:
    # argparse expands %(name)s in a help text from the action's attributes.
    setattr(action, "env", env)  # noqa: B010 - not an attribute argparse declares
    return action
