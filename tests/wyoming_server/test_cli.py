"""The command line, run as a subprocess: exit codes, stdio, SIGTERM, secrets, subcommands."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from qwen_asr_realtime import ENDPOINTING_HOME_ASSISTANT, ENDPOINTING_QWEN
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import async_read_event, async_write_event
from wyoming.info import Describe, Info

from tests.support.ports import free_port, wait_connectable
from tests.support.server_helpers import HOST, read_reply, send_audio
from wyoming_server.cli.options import UsageError
from wyoming_server.cli.parser import COMMANDS, parse_args
from wyoming_server.cli.qwen_options import read_api_key
from wyoming_server.cli.settings import build_settings
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.qwen_client import new_client
from wyoming_server.settings import Endpointing

SECRET = "sk-cli-secret-0123456789"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}


async def _run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**CLEAN_ENV, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key"
    path.write_text("test-key\n")
    path.chmod(0o600)
    return path


async def test_version() -> None:
    code, out, _ = await _run("--version")
    assert code == 0 and out.startswith("wyoming-qwen-asr ")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "API key is required"),
        (("--vad-threshold", "5"), {"QWEN_API_KEY": "k"}, "--vad-threshold"),
        (("--uri", "http://x:1"), {"QWEN_API_KEY": "k"}, "URI must start"),
        (("--region", "http://x"), {"QWEN_API_KEY": "k"}, "--region"),
        (("--region", "ws://192.0.2.1:9/x"), {"QWEN_API_KEY": "k"}, "--allow-insecure"),
        ((), {"QWEN_API_KEY": "k", "QWEN_ASR_ALLOW_INSECURE": "maybe"}, "QWEN_ASR_ALLOW_INSECURE"),
        (("--language", "klingon"), {"QWEN_API_KEY": "k"}, "unsupported language"),
        (("--endpointing", "qwen", "--no-vad"), {"QWEN_API_KEY": "k"}, "needs Qwen's VAD"),
        (("--endpointing", "server", "--no-vad"), {"QWEN_API_KEY": "k"}, "needs Qwen's VAD"),
        (("--endpointing", "vad"), {"QWEN_API_KEY": "k"}, "must be home_assistant or qwen"),
        (("--no-such-flag",), {"QWEN_API_KEY": "k"}, "unrecognized"),
        ((), {"QWEN_API_KEY": "k", "QWEN_ASR_VAD": "maybe"}, "QWEN_ASR_VAD"),
        ((), {"QWEN_API_KEY": "k", "QWEN_ASR_VAD_SILENCE_MS": "10"}, "--vad-silence-ms"),
        (("--coalesce-ms", "-1"), {"QWEN_API_KEY": "k"}, "--coalesce-ms"),
        ((), {"QWEN_API_KEY": "k", "QWEN_ASR_COALESCE_MS": "5000"}, "--coalesce-ms"),
        (("--api-key-file", "/nonexistent/key"), {}, "cannot read --api-key-file"),
        (("--mic-device", "hw:1"), {"QWEN_API_KEY": "k"}, "--mic-device needs --mic-uri"),
    ],
)
async def test_bad_configuration_is_one_line_and_exit_2(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    code, _, err = await _run(*args, env=env)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


async def _start_tcp_server(
    port: int,
    emulator: QwenEmulator,
    *extra: str,
    env: dict[str, str] | None = None,
    capture_log: bool = False,
) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "--uri",
        f"tcp://{HOST}:{port}",
        "--region",
        emulator.url,
        "--vad-silence-ms",
        "200",
        *extra,
        stderr=asyncio.subprocess.PIPE if capture_log else asyncio.subprocess.DEVNULL,
        env={**CLEAN_ENV, **(env or {})},
    )
    await wait_connectable(port, 15)
    return proc


@pytest.fixture
async def server_proc(
    emulator: QwenEmulator, key_file: Path
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    port = free_port()
    proc = await _start_tcp_server(port, emulator, "--api-key-file", str(key_file))
    yield port, proc
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


async def test_sigterm_finishes_the_request_in_flight(
    server_proc: tuple[int, asyncio.subprocess.Process],
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
) -> None:
    port, proc = server_proc
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    pcm = speech_pcm("what_time_is_it")
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        await send_audio(client, pcm[: len(pcm) // 2])
        # SIGTERM only once the server is demonstrably inside the request (its Qwen session
        # has audio); before that the bytes may still sit unread in the socket buffer.
        async with asyncio.timeout(5):
            while not (emulator.sessions and emulator.sessions[-1].audio_bytes):
                await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        await send_audio(client, pcm[len(pcm) // 2 :])
        await client.write_event(AudioStop().event())
        reply = await read_reply(client)
    assert reply.text == "what time is it"
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_api_key_never_logged_even_with_debug(
    emulator: QwenEmulator, tmp_path: Path, speech_pcm: Callable[..., bytes]
) -> None:
    port = free_port()
    # A wrong key: the handshake (with its Authorization header) fails and is logged in debug.
    proc = await _start_tcp_server(
        port, emulator, "--debug", env={"QWEN_API_KEY": SECRET}, capture_log=True
    )
    assert proc.stderr is not None
    log_reader = asyncio.create_task(proc.stderr.read())  # never let the pipe fill up
    try:
        async with AsyncTcpClient(HOST, port) as client:
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(16000, 2, 1).event())
            await send_audio(client, speech_pcm("what_time_is_it")[:6400])
            await client.write_event(AudioStop().event())
            reply = await read_reply(client)
        assert reply.error is not None and reply.error.code == "auth-failed"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
    log = (await log_reader).decode()
    assert "auth" in log.lower()
    assert "Authorization: ***" in log  # the handshake is logged, its key masked
    assert SECRET not in log


async def test_stdio_transport(
    emulator: QwenEmulator, key_file: Path, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "--uri",
        "stdio://",
        "--region",
        emulator.url,
        "--api-key-file",
        str(key_file),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=CLEAN_ENV,
    )
    assert proc.stdin is not None and proc.stdout is not None
    await async_write_event(Describe().event(), proc.stdin)  # type: ignore[arg-type]
    info = await asyncio.wait_for(async_read_event(proc.stdout), 10)
    assert info is not None and Info.is_type(info.type)
    await async_write_event(Transcribe(language="en").event(), proc.stdin)  # type: ignore[arg-type]
    await async_write_event(AudioStart(16000, 2, 1).event(), proc.stdin)  # type: ignore[arg-type]
    pcm = speech_pcm("what_time_is_it")
    from wyoming.audio import AudioChunk  # noqa: PLC0415

    for start in range(0, len(pcm), 3200):
        chunk = AudioChunk(16000, 2, 1, pcm[start : start + 3200]).event()
        await async_write_event(chunk, proc.stdin)  # type: ignore[arg-type]
    await async_write_event(AudioStop().event(), proc.stdin)  # type: ignore[arg-type]
    text = None
    async with asyncio.timeout(10):
        while (event := await async_read_event(proc.stdout)) is not None:
            if Transcript.is_type(event.type):
                text = Transcript.from_event(event).text
                break
    assert text == "what time is it"
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 10) == 0


async def test_transcribe_subcommand(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    code, out, err = await _run(
        "transcribe",
        "--fast",
        "--region",
        emulator.url,
        str(fixture_path("what_time_is_it.wav")),
        env={"QWEN_API_KEY": "test-key"},
    )
    assert code == 0, err
    assert out.strip() == "what time is it"


async def test_transcribe_subcommand_reports_bad_key(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    wav = str(fixture_path("what_time_is_it.wav"))
    code, _, err = await _run(
        "transcribe", "--fast", "--region", emulator.url, wav, env={"QWEN_API_KEY": SECRET}
    )
    assert code == 1
    assert "Authentication failed" in err and SECRET not in err
    assert "Traceback" not in err


async def test_an_unknown_model_says_to_check_the_model(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    """The service answers a model it does not know with HTTP 404 at the upgrade."""
    wav = str(fixture_path("what_time_is_it.wav"))
    options = ("--fast", "--region", emulator.url, "--model", "qwen3-asr-flash-realtim")
    code, _, err = await _run("transcribe", *options, wav, env={"QWEN_API_KEY": "test-key"})
    assert code == 1
    assert "HTTP 404: check the model name (--model" in err, err


def test_top_level_help_lists_every_subcommand_and_where_the_variables_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for command in COMMANDS:
        assert f" {command} " in out, command
    assert "environment variables are listed by each subcommand's --help" in out
    assert "'wyoming-qwen-asr serve --help'" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_defaults_readably(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [name for name in os.environ if name.startswith("QWEN_")]:
        monkeypatch.delenv(name)
    with pytest.raises(SystemExit):
        parse_args([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default default" not in out
    if command not in ("mic", "health", "addon"):  # the commands that talk to Qwen
        assert "(default intl; env QWEN_ASR_REGION)" in out


async def test_key_file_readable_by_others_warns(
    emulator: QwenEmulator, tmp_path: Path, fixture_path: Callable[[str], Path]
) -> None:
    path = tmp_path / "key"
    path.write_text("test-key")
    path.chmod(0o644)
    code, _, err = await _run(
        "transcribe",
        "--fast",
        "--api-key-file",
        str(path),
        "--region",
        emulator.url,
        str(fixture_path("what_time_is_it.wav")),
    )
    assert code == 0
    assert "readable by other users" in err


async def test_demo_runs_offline(fixture_path: Callable[[str], Path]) -> None:
    pytest.importorskip("pocketsphinx")
    code, out, err = await _run("demo", "--fast", str(fixture_path("what_time_is_it.wav")))
    assert code == 0, err
    assert "what time is it" in out


REMOTE_WS = "ws://192.0.2.1:9/api-ws/v1/realtime"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--region", REMOTE_WS, "--allow-insecure"), {}),
        (("--region", REMOTE_WS), {"QWEN_ASR_ALLOW_INSECURE": "true"}),
        (("--region", "ws://127.0.0.1:9/api-ws/v1/realtime"), {}),  # this machine: no flag
    ],
)
def test_unencrypted_region_when_allowed(
    monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], env: dict[str, str]
) -> None:
    """--allow-insecure (or its variable) lets the server's clients use ws:// elsewhere."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = build_settings(parse_args(list(args)), "k")
    client = new_client(settings, settings.session_config(None))
    assert client.url == args[1]


def test_unencrypted_region_is_refused_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QWEN_ASR_ALLOW_INSECURE", raising=False)
    with pytest.raises(UsageError, match="--allow-insecure"):
        build_settings(parse_args(["--region", REMOTE_WS]), "k")
    with pytest.raises(UsageError, match="--allow-insecure"):
        build_settings(parse_args(["--region", REMOTE_WS, "--no-allow-insecure"]), "k")


def test_a_key_on_the_command_line_is_warned_about_and_the_variable_is_not(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--api-key`` shows the key to every user of ``ps``: the server says so at start."""
    argv = ["--api-key", f" {SECRET}\n"]
    assert read_api_key(parse_args(argv), argv=argv) == SECRET
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "visible to other users in ps" in warnings[0]
    assert "QWEN_API_KEY or --api-key-file" in warnings[0] and SECRET not in warnings[0]

    caplog.clear()
    monkeypatch.setenv("QWEN_API_KEY", SECRET)
    assert read_api_key(parse_args([]), argv=[]) == SECRET
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("source", ["--api-key", "QWEN_API_KEY"])
def test_a_malformed_key_names_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """The message says which input holds the broken key, and where in it."""
    key = f"{SECRET}\u200b"
    argv = ["--api-key", key] if source == "--api-key" else []
    if source == "QWEN_API_KEY":
        monkeypatch.setenv("QWEN_API_KEY", key)
    with pytest.raises(UsageError) as caught:
        read_api_key(parse_args(argv), argv=argv)
    assert str(caught.value) == (
        f"{source} is not one line of printable ASCII: "
        f"character {len(SECRET) + 1} is a zero-width space (U+200B)"
    )


@pytest.mark.parametrize(
    ("given", "meaning"),
    [
        ([], Endpointing.HOME_ASSISTANT),
        (["--endpointing", "qwen"], Endpointing.QWEN),
        (["--endpointing", "home_assistant"], Endpointing.HOME_ASSISTANT),
        (["--endpointing", "server"], Endpointing.QWEN),
        (["--endpointing", "ha"], Endpointing.HOME_ASSISTANT),
    ],
)
def test_endpointing_takes_the_integrations_words_and_the_earlier_ones(
    given: list[str], meaning: Endpointing
) -> None:
    settings = build_settings(parse_args(given), "k")
    assert settings.endpointing is meaning
    assert settings.qwen_ends_requests == (meaning is Endpointing.QWEN)


def test_endpointing_words_are_the_integrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QWEN_ASR_ENDPOINTING", ENDPOINTING_QWEN)
    assert build_settings(parse_args([]), "k").endpointing == ENDPOINTING_QWEN
    assert {str(value) for value in Endpointing} == {ENDPOINTING_HOME_ASSISTANT, ENDPOINTING_QWEN}
