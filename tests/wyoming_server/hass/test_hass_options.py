"""``--hass-url`` / ``--hass-token`` / ``--hass-token-file``, env vars and the add-on case."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.serve_options import hass_config
from wyoming_server.hass import HassConfig, websocket_url

TOKEN = "hass-token-abc.def"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "QWEN_ASR_HASS_URL",
        "QWEN_ASR_HASS_TOKEN",
        "QWEN_ASR_HASS_TOKEN_FILE",
        "SUPERVISOR_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8123", "ws://127.0.0.1:8123/api/websocket"),
        ("http://localhost:8123/", "ws://localhost:8123/api/websocket"),
        ("http://[::1]:8123/api", "ws://[::1]:8123/api/websocket"),
        ("https://ha.example.org", "wss://ha.example.org/api/websocket"),
        ("https://ha.example.org/api/websocket", "wss://ha.example.org/api/websocket"),
        ("wss://ha.example.org:8443/", "wss://ha.example.org:8443/api/websocket"),
        ("http://supervisor/core", "ws://supervisor/core/websocket"),
        ("http://supervisor", "ws://supervisor/core/websocket"),
    ],
)
def test_websocket_url(url: str, expected: str) -> None:
    assert websocket_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://homeassistant.local:8123",  # the token would cross the LAN in clear text
        "ws://192.168.1.10:8123",
        "http://10.0.0.2",
        "ftp://127.0.0.1",
        "https://user:pw@ha.example.org",
        "https://ha.example.org/?x=1",
        "127.0.0.1:8123",
    ],
)
def test_urls_that_would_expose_the_token_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        websocket_url(url)


def test_a_clear_text_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--hass-url", "http://homeassistant.local:8123"])
    assert exit_.value.code == 2
    assert "unencrypted" in capsys.readouterr().err


def test_options_and_token_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    args = parse_args(["--hass-url", "http://127.0.0.1:8123", "--hass-token-file", str(token_file)])
    config = hass_config(args, argv=[])
    assert config == HassConfig(url="ws://127.0.0.1:8123/api/websocket", token=TOKEN)
    assert TOKEN not in repr(config)


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_ASR_HASS_URL", "https://ha.example.org")
    monkeypatch.setenv("QWEN_ASR_HASS_TOKEN", TOKEN)
    config = hass_config(parse_args([]), argv=[])
    assert config is not None
    assert (config.url, config.token) == ("wss://ha.example.org/api/websocket", TOKEN)


def test_inside_an_add_on_the_supervisor_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TOKEN", TOKEN)
    config = hass_config(parse_args([]), argv=[])
    assert config is not None
    assert (config.url, config.token) == ("ws://supervisor/core/websocket", TOKEN)


def test_explicit_options_win_over_the_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TOKEN", "supervisor-token")
    monkeypatch.setenv("QWEN_ASR_HASS_TOKEN", TOKEN)
    monkeypatch.setenv("QWEN_ASR_HASS_URL", "http://127.0.0.1:8123")
    config = hass_config(parse_args([]), argv=[])
    assert config is not None and config.token == TOKEN


def test_without_any_option_nothing_is_read() -> None:
    assert hass_config(parse_args([]), argv=[]) is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--hass-token", TOKEN], "needs --hass-url"),
        (["--hass-url", "http://127.0.0.1:8123"], "needs --hass-token"),
        (["--hass-url", "http://127.0.0.1", "--hass-token-file", "/nonexistent"], "cannot read"),
    ],
)
def test_incomplete_options_are_one_line_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        hass_config(parse_args(argv), argv=[])
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (f"{TOKEN}\n{TOKEN}", "it has 2 lines"),
        (f"{TOKEN}\u200b", "character 19 is a zero-width space (U+200B)"),
        (f"é{TOKEN}", "character 1 is a non-ASCII letter"),
    ],
)
@pytest.mark.parametrize("source", ["option", "file"])
def test_a_token_that_is_not_one_line_of_printable_ascii_is_refused(
    tmp_path: Path, token: str, problem: str, source: str
) -> None:
    """The API key's rule: the message says where the token is broken, never the token."""
    argv = ["--hass-url", "http://127.0.0.1:8123"]
    if source == "option":
        argv += ["--hass-token", token]
    else:
        token_file = tmp_path / "token"
        token_file.write_text(token + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        argv += ["--hass-token-file", str(token_file)]
    with pytest.raises(ValueError, match="not one line of printable ASCII") as caught:
        hass_config(parse_args(argv), argv=[])
    assert problem in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_token_on_the_command_line_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    argv = ["--hass-url", "http://127.0.0.1:8123", "--hass-token", TOKEN]
    assert hass_config(parse_args(argv), argv=argv) is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("visible to other users in ps" in w for w in warnings)
    assert not any(TOKEN in w for w in warnings)


def test_stall_timeout_option() -> None:
    from wyoming_server.cli.settings import build_settings  # noqa: PLC0415

    assert build_settings(parse_args([]), "k").timeouts.finish_silence == 3.0
    settings = build_settings(parse_args(["--stall-timeout", "1.5"]), "k")
    assert settings.timeouts.finish_silence == 1.5
    assert build_settings(parse_args(["--stall-timeout", "0"]), "k").timeouts.finish_silence is None
