"""What each subcommand loads, and the one way options read their environment variables."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from wyoming_server.__main__ import main
from wyoming_server.cli.options import flag, option
from wyoming_server.cli.parser import COMMANDS, build_parser, parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.settings import ServerSettings

ROOT = Path(__file__).resolve().parents[2]
# The speech-to-text stack: the Wyoming server, its requests, the settings of Qwen sessions.
STACK = ("wyoming_server.server", "wyoming_server.handler", "wyoming_server.settings")


def _loaded_after(argv: list[str]) -> set[str]:
    """Run the entry point in a fresh interpreter; return the project's modules it loaded."""
    code = (
        "import contextlib, io, sys\n"
        "from wyoming_server.__main__ import main\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err),"
        " contextlib.suppress(SystemExit):\n"
        f"    main({argv!r})\n"
        "mine = ('wyoming_server', 'qwen_asr_realtime', 'websockets')\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in mine))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    return set(result.stdout.split())


def test_health_loads_neither_the_server_nor_the_settings_of_qwen_sessions() -> None:
    """The container runs ``health`` every 30 s: it imports only what it uses."""
    loaded = _loaded_after(["health", "--uri", "tcp://127.0.0.1:9", "--timeout", "0.1"])
    assert "wyoming_server.health" in loaded
    assert not loaded & {*STACK, "wyoming_server.cli.serve", "wyoming_server.mic.service"}
    assert "websockets" not in loaded and "qwen_asr_realtime.client" not in loaded
    assert len(loaded) <= 15, sorted(loaded)  # of the project's modules (59 before)


def test_the_mic_command_loads_the_mic_service_without_the_speech_to_text_stack() -> None:
    """The satellite's microphone service restarts apart from the server, and as light."""
    loaded = _loaded_after(["mic", "--mic-device", ""])  # refused before it opens a device
    assert "wyoming_server.mic.service" in loaded
    assert not loaded & {*STACK, "wyoming_server.mic.listen", "wyoming_server.cli.serve"}


def test_the_top_level_help_imports_no_subcommand_and_no_server() -> None:
    """The subcommands' one-line helps are listed without importing them."""
    loaded = _loaded_after(["--help"])
    commands = ("serve", "transcribe", "check", "demo", "listen", "mic", "health", "addon")
    assert not loaded & {*STACK, *(f"wyoming_server.cli.{command}" for command in commands)}


def _on_auth_error(settings: ServerSettings) -> bool:
    return settings.fallback is not None and settings.fallback.on_auth_error


def _buffered(settings: ServerSettings) -> bool:
    return settings.buffered


@pytest.mark.parametrize(
    ("variable", "setting"),
    [("QWEN_ASR_FALLBACK_ON_AUTH_ERROR", _on_auth_error), ("QWEN_ASR_BUFFERED", _buffered)],
)
def test_every_on_off_variable_is_read_by_the_one_true_false_parser(
    variable: str,
    setting: Callable[[ServerSettings], bool],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A misspelt value is refused by name before anything starts, not read as false."""
    monkeypatch.setenv("QWEN_API_KEY", "k")
    monkeypatch.setenv(variable, "ture")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert f"environment variable {variable} must be true or false, not 'ture'" in err
    argv = ["--fallback-uri", "tcp://127.0.0.1:9"]
    for value, expected in (("on", True), ("", False), ("0", False)):
        monkeypatch.setenv(variable, value)
        assert setting(build_settings(parse_args(argv), "k")) is expected


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """Return a parser's actions, those of its subcommands' parsers too."""
    found = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _actions(sub)
    return found


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_text_expands_from_argparses_own_attributes(command: str | None) -> None:
    """Python 3.14's argparse checks each help text when the option is added, against the
    action's own attributes: the tail we write (a default with ``%``) must be plain text."""
    standard = set(vars(argparse.Action(["-x"], "x"))) | {"prog"}
    parser = build_parser(command)
    for action in _actions(parser):
        if not action.help or action.help is argparse.SUPPRESS:
            continue
        params = {name: value for name, value in vars(action).items() if name in standard}
        params["prog"] = parser.prog
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        assert isinstance(action.help % params, str)  # KeyError for a name argparse lacks


def test_each_help_text_ends_with_the_default_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tail is written once, in ``option`` and ``flag``; the default shown is the built-in."""
    monkeypatch.setenv("QWEN_TEST_RATE", "0.75")
    parser = argparse.ArgumentParser()
    rate = option(parser, "--rate", env="QWEN_TEST_RATE", default=0.5, type=float, help="r ")
    name = option(parser, "--name", env="QWEN_TEST_NAME", help="n")
    where = option(parser, "--where", env="QWEN_TEST_WHERE", shown_default="here", help="w")
    form = option(parser, "--form", env="QWEN_TEST_FORM", default="%(x)s", help="f")
    on = flag(parser, "--on", env="QWEN_TEST_ON", default=True, help="o")
    off = flag(parser, "--off", env="QWEN_TEST_OFF", help="x")
    assert rate.help == "r (default 0.5; env QWEN_TEST_RATE)"
    assert parser.parse_args([]).rate == 0.75  # the variable's value, not the shown default
    assert name.help == "n (env QWEN_TEST_NAME)"
    assert where.help == "w (default here; env QWEN_TEST_WHERE)"
    assert on.help == "o (default on; env QWEN_TEST_ON)"
    assert off.help == "x (env QWEN_TEST_OFF)"
    assert form.help == "f (default %%(x)s; env QWEN_TEST_FORM)"
    assert "f (default %(x)s; env QWEN_TEST_FORM)" in " ".join(parser.format_help().split())


_DOC_ROW = re.compile(r"^\| (?P<options>[^|]+) \| (?P<variables>[^|]+) \|", re.MULTILINE)


@pytest.mark.parametrize("page", ["wyoming-server.md", "raspberry-pi.md"])
def test_the_docs_option_tables_name_the_variable_each_option_reads(page: str) -> None:
    """Each row's variables are the ones the options' help texts name, in the same order."""
    helps = {
        string: action.help or ""
        for command in ("serve", "mic")
        for action in _actions(build_parser(command))
        for string in action.option_strings
    }
    rows = 0
    for row in _DOC_ROW.finditer((ROOT / "docs" / page).read_text(encoding="utf-8")):
        options = [o for o in re.findall(r"`(--[a-z-]+)", row["options"]) if o != "--no-vad"]
        variables = re.findall(r"QWEN_[A-Z_]+", row["variables"])
        if not options:
            continue
        assert len(options) == len(variables), row.group(0)
        for name, variable in zip(options, variables, strict=True):
            assert helps[name].endswith(f"env {variable})"), (name, helps[name])
        rows += 1
    assert rows >= 5
