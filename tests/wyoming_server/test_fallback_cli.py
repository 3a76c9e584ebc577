"""The fallback's options (flags and environment) and what ``health`` says about it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from qwen_asr_realtime import CircuitBreaker

from tests.support.fallback_helpers import Fallback, timed_request
from tests.support.ports import free_port
from tests.support.server_helpers import HOST, StartServer
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings

from .test_health import run_health


def _settings(argv: list[str]):  # type: ignore[no-untyped-def]
    return build_settings(parse_args(argv), "test-key")


def test_fallback_from_flags() -> None:
    settings = _settings(
        [
            "--fallback-uri",
            "tcp://127.0.0.1:10301",
            "--fallback-on-auth-error",
            "--fallback-timeout",
            "7",
            "--fallback-retry-seconds",
            "2",
        ]
    )
    engine = settings.fallback
    assert engine is not None
    assert (engine.host, engine.port, engine.uri) == ("127.0.0.1", 10301, "tcp://127.0.0.1:10301")
    assert engine.on_auth_error and engine.answer_timeout == 7
    assert engine.breaker.first_seconds == 2


def test_fallback_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_ASR_FALLBACK_URI", "tcp://[::1]:10301")
    monkeypatch.setenv("QWEN_ASR_FALLBACK_ON_AUTH_ERROR", "true")
    engine = _settings([]).fallback
    assert engine is not None and engine.uri == "tcp://[::1]:10301" and engine.on_auth_error


def test_no_fallback_by_default() -> None:
    assert _settings([]).fallback is None


@pytest.mark.parametrize("uri", ["unix:///tmp/x.sock", "tcp://host-without-port", "http://x:1"])
def test_unusable_fallback_uri_is_a_usage_error(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--fallback-uri", uri])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--fallback-uri" in err and len(err.strip().splitlines()) == 1


async def test_health_names_the_engine_in_use(
    start_server: StartServer, fallback: Fallback, speech_pcm: Callable[..., bytes]
) -> None:
    engine = fallback.engine(breaker=CircuitBreaker(30))
    port = await start_server(
        endpoint=f"ws://{HOST}:{free_port()}/api-ws/v1/realtime", fallback=engine
    )
    code, out, _, _ = await run_health("--uri", f"tcp://{HOST}:{port}")
    assert code == 0 and f"in use: Qwen (fallback {engine.uri} ready)" in out
    reply = (await timed_request(port, speech_pcm("what_time_is_it"))).reply
    assert reply.text is not None and reply.text.startswith("utterance")
    code, out, _, _ = await run_health("--uri", f"tcp://{HOST}:{port}")
    assert code == 0 and f"in use: fallback {engine.uri}, Qwen tried again in" in out
    assert "QwenConnectionError" in out
