"""The add-on's run script (``wyoming-qwen-asr addon``) outside a container: options
become the server's environment, the server answers, the Supervisor is told, the key stays
out of every output. The container suite runs the same script in the add-on image."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_supervisor import FakeSupervisor
from tests.support.ports import free_port
from tests.support.server_helpers import transcribe
from wyoming_server.addon import (
    AddonError,
    home_assistant_env,
    options_to_env,
    server_environment,
    state_directory,
)
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.health import describe

KEY = "sk-test-secret-key"


def addon_options(emulator: QwenEmulator, **changes: Any) -> dict[str, Any]:
    options = {
        "api_key": KEY,
        "region": emulator.url,
        "model": "qwen3-asr-flash-realtime",
        "language": "pipeline",
        "vad": True,
        "vad_threshold": 0.0,
        "vad_silence_ms": 200,
        "endpointing": "home_assistant",
        "context": ["Lumière", "  ", "Kitchen"],
        "debug_logging": True,
    }
    return {**options, **changes}


def test_options_become_the_servers_variables(tmp_path: Path) -> None:
    context = tmp_path / "context.txt"
    options = {
        "api_key": f"  {KEY}\n",
        "region": "cn",
        "model": "qwen3-asr-flash-realtime-2025-10-27",
        "language": "zh",
        "vad": False,
        "vad_threshold": -0.5,
        "vad_silence_ms": 400,
        "endpointing": "home_assistant",
        "context": ["Lumière", " ", "客厅"],
        "debug_logging": False,
        "fallback_uri": "tcp://core-whisper:10300",
        "daily_audio_minutes": 30,
    }
    state = tmp_path / "state" / "audio-usage.json"
    assert options_to_env(options, context, 10300, state) == {
        "QWEN_ASR_URI": "tcp://0.0.0.0:10300",
        "QWEN_API_KEY": KEY,
        "QWEN_ASR_REGION": "cn",
        "QWEN_ASR_MODEL": "qwen3-asr-flash-realtime-2025-10-27",
        "QWEN_ASR_LANGUAGE": "zh",
        "QWEN_ASR_VAD": "false",
        "QWEN_ASR_VAD_THRESHOLD": "-0.5",
        "QWEN_ASR_VAD_SILENCE_MS": "400",
        "QWEN_ASR_ENDPOINTING": "home_assistant",
        "QWEN_ASR_CONTEXT_FILE": str(context),
        "QWEN_ASR_DEBUG": "false",
        "QWEN_ASR_FALLBACK_URI": "tcp://core-whisper:10300",
        "QWEN_ASR_DAILY_AUDIO_MINUTES": "30",
        "QWEN_ASR_STATE_FILE": str(state),
    }
    assert context.read_text(encoding="utf-8") == "Lumière\n客厅\n"


def test_pipeline_language_and_empty_context_set_nothing(tmp_path: Path) -> None:
    env = options_to_env({"api_key": KEY, "language": "pipeline", "context": []}, tmp_path / "c", 1)
    assert "QWEN_ASR_LANGUAGE" not in env and "QWEN_ASR_CONTEXT_FILE" not in env
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "api_key"),
        ({"api_key": "   "}, "api_key"),
        ({"api_key": None}, "api_key"),
        ({"api_key": KEY, "vad": "yes"}, "vad must be true or false"),
        ({"api_key": KEY, "vad_threshold": [0.1]}, "vad_threshold must be a single value"),
        ({"api_key": KEY, "context": "Lumière"}, "context must be a list"),
        ({"api_key": f"{KEY}\n# from the console"}, r"api_key\) .*: it has 2 lines"),
        ({"api_key": f"sk-\u200b{KEY}"}, r"character 4 is a zero-width space \(U\+200B\)"),
        ({"api_key": f"sk-\u0436{KEY}"}, "character 4 is a non-ASCII letter"),
    ],
)
def test_bad_options_say_what_to_fix(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(AddonError, match=message) as caught:
        options_to_env(options, tmp_path / "c", 10300)
    assert KEY not in str(caught.value)


def test_the_supervisors_token_and_core_proxy_become_the_servers_home_assistant() -> None:
    environ = {"SUPERVISOR_TOKEN": " abc\n", "SUPERVISOR_API": "http://127.0.0.1:81/"}
    assert home_assistant_env({}, environ) == {
        "QWEN_ASR_HASS_URL": "http://127.0.0.1:81/core/websocket",
        "QWEN_ASR_HASS_TOKEN": "abc",
    }
    # In the add-on's container the Supervisor is http://supervisor.
    env = home_assistant_env({"home_names": True}, {"SUPERVISOR_TOKEN": "abc"})
    assert env["QWEN_ASR_HASS_URL"] == "http://supervisor/core/websocket"


@pytest.mark.parametrize(
    ("options", "environ"),
    [
        ({"home_names": False}, {"SUPERVISOR_TOKEN": "abc"}),
        ({}, {"SUPERVISOR_TOKEN": " "}),
        ({}, {}),
    ],
)
def test_no_home_names_when_turned_off_or_without_the_supervisor(
    options: dict[str, Any], environ: dict[str, str]
) -> None:
    assert home_assistant_env(options, environ) == {}


def test_home_names_must_be_true_or_false() -> None:
    with pytest.raises(AddonError, match="home_names must be true or false"):
        home_assistant_env({"home_names": "yes"}, {"SUPERVISOR_TOKEN": "abc"})


def test_server_environment_drops_image_defaults_and_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QWEN_API_KEY_FILE", "/run/secrets/qwen_api_key")
    monkeypatch.setenv("QWEN_ASR_LANGUAGE", "de")
    monkeypatch.setenv("SUPERVISOR_TOKEN", "t")
    env = server_environment({"QWEN_API_KEY": KEY})
    assert env["QWEN_API_KEY"] == KEY and env["PATH"] == os.environ["PATH"]
    assert not {"QWEN_API_KEY_FILE", "QWEN_ASR_LANGUAGE", "SUPERVISOR_TOKEN"} & set(env)


@dataclass
class Addon:
    process: asyncio.subprocess.Process
    port: int
    output: bytearray

    @property
    def log(self) -> str:
        return self.output.decode(errors="replace")

    async def wait_log(self, text: str, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while text not in self.log:
                assert self.process.returncode is None, self.log
                await asyncio.sleep(0.05)


@pytest.fixture
async def start_addon(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await start_addon(options, env)``: the run script as its own process."""
    started: list[Addon] = []

    async def _start(options: dict[str, Any] | str, env: dict[str, str]) -> Addon:
        path = tmp_path / "options.json"
        path.write_text(options if isinstance(options, str) else json.dumps(options), "utf-8")
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wyoming_server",
            "addon",
            "--options",
            str(path),
            "--port",
            str(port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group: the server child goes with it
        )
        addon = Addon(process, port, bytearray())
        started.append(addon)

        async def collect() -> None:
            assert process.stdout is not None
            while chunk := await process.stdout.read(4096):
                addon.output.extend(chunk)

        asyncio.get_running_loop().create_task(collect())
        return addon

    yield _start
    for addon in started:
        if addon.process.returncode is None:
            addon.process.send_signal(signal.SIGTERM)  # forwarded to the server
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(addon.process.wait(), 10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(addon.process.pid, signal.SIGKILL)
        await addon.process.wait()


async def start_supervised(
    start_addon: Callable[..., Any],
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    words: str,
    **changes: Any,
) -> Addon:
    """Start the add-on as the Supervisor does, in front of an emulator that hears ``words``."""
    emulator.api_keys = frozenset({KEY})
    emulator.recognizer_factory = ScriptedRecognizer([words])
    env = {"SUPERVISOR_TOKEN": supervisor.token, "SUPERVISOR_API": supervisor.url}
    addon: Addon = await start_addon(addon_options(emulator, **changes), env)
    return addon


async def test_runs_the_server_announces_it_and_keeps_the_key_secret(
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    start_addon: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    addon = await start_supervised(start_addon, emulator, supervisor, "what time is it")
    await addon.wait_log("Wyoming discovery")
    assert len(supervisor.requests) == 1
    request = supervisor.requests[0]
    assert request.path == "/discovery"
    assert request.authorization == f"Bearer {supervisor.token}"
    assert request.body == {
        "service": "wyoming",
        "config": {"uri": f"tcp://{socket.gethostname()}:{addon.port}"},
    }
    reply = await transcribe(addon.port, speech_pcm("what_time_is_it"), language="en")
    assert reply.text == "what time is it"
    # The context option reached the session; the key authenticated it.
    assert any("Lumière\nKitchen" in text for text in emulator.sessions[-1].corpus_texts)
    addon.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(addon.process.wait(), 40) == 0
    await asyncio.sleep(0.1)
    assert "Shutting down" in addon.log
    # Debug logging was on: still neither the key nor the Supervisor's token.
    assert KEY not in addon.log and supervisor.token not in addon.log


async def test_reads_the_homes_names_through_the_supervisor(
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    start_addon: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    """Core's websocket through the Supervisor's proxy, with the add-on's token: the floor,
    the area and the exposed light reach Qwen's context after the user's own words."""
    addon = await start_supervised(start_addon, emulator, supervisor, "turn on the lights")
    await addon.wait_log("Home names from Home Assistant: 5 lines")
    assert supervisor.core_tokens == [supervisor.token]
    assert "get_states" in supervisor.core_commands
    reply = await transcribe(addon.port, speech_pcm("turn_on_kitchen_lights"), language="en")
    assert reply.text == "turn on the lights"
    (context,) = emulator.sessions[-1].corpus_texts
    assert context.splitlines() == [
        "Lumière",
        "Kitchen",
        "Rez-de-chaussée",
        "Véranda",
        "Sunroom",
        "Abat-jour Tiffany",
        "Lampe bleue",
    ]
    assert supervisor.token not in addon.log


async def test_without_home_assistant_access_it_transcribes_and_says_what_to_check(
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    start_addon: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    supervisor.core_access = False
    addon = await start_supervised(start_addon, emulator, supervisor, "turn on the lights")
    await addon.wait_log("check that the add-on has Home Assistant API access")
    reply = await transcribe(addon.port, speech_pcm("turn_on_kitchen_lights"), language="en")
    assert reply.text == "turn on the lights"
    assert emulator.sessions[-1].corpus_texts == ["Lumière\nKitchen"]
    assert supervisor.token not in addon.log


async def test_home_names_off_reads_nothing_from_home_assistant(
    emulator: QwenEmulator,
    supervisor: FakeSupervisor,
    start_addon: Callable[..., Any],
    speech_pcm: Callable[..., bytes],
) -> None:
    addon = await start_supervised(
        start_addon, emulator, supervisor, "turn on the lights", home_names=False
    )
    await addon.wait_log("Wyoming discovery")
    reply = await transcribe(addon.port, speech_pcm("turn_on_kitchen_lights"), language="en")
    assert reply.text == "turn on the lights"
    assert emulator.sessions[-1].corpus_texts == ["Lumière\nKitchen"]
    assert "Reading home names" not in addon.log and not supervisor.core_tokens


async def test_without_the_supervisor_it_serves_without_discovery(
    emulator: QwenEmulator, start_addon: Callable[..., Any]
) -> None:
    env = {"SUPERVISOR_TOKEN": "", "QWEN_ASR_URI": "tcp://127.0.0.1:1"}
    addon = await start_addon(addon_options(emulator, debug_logging=False), env)
    await addon.wait_log("no discovery to send")
    # Its own port, not the inherited QWEN_ASR_URI.
    assert (await describe(f"tcp://127.0.0.1:{addon.port}", 5)).asr


async def test_a_refused_discovery_is_logged_and_the_server_stays_up(
    emulator: QwenEmulator, supervisor: FakeSupervisor, start_addon: Callable[..., Any]
) -> None:
    env = {"SUPERVISOR_TOKEN": "wrong-token", "SUPERVISOR_API": supervisor.url}
    addon = await start_addon(addon_options(emulator), env)
    await addon.wait_log("Wyoming discovery failed: the Supervisor answered HTTP 401")
    assert (await describe(f"tcp://127.0.0.1:{addon.port}", 5)).asr
    assert "wrong-token" not in addon.log


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("{not json", "is not JSON"),
        ("[]", "does not hold an object"),
        (json.dumps({"api_key": None, "region": "intl"}), "set your DashScope API key"),
        # The server's own check, reported through the run script.
        (json.dumps({"api_key": KEY, "language": "xx"}), "unsupported language 'xx'"),
        (json.dumps({"api_key": KEY, "vad_threshold": 3}), "must be between -1.0 and 1.0"),
    ],
)
async def test_bad_configuration_stops_with_the_reason(
    start_addon: Callable[..., Any], options: str, message: str
) -> None:
    addon = await start_addon(options, {"SUPERVISOR_TOKEN": ""})
    assert await asyncio.wait_for(addon.process.wait(), 30) == 2
    await asyncio.sleep(0.1)
    assert message in addon.log
    assert KEY not in addon.log


def test_the_daily_count_lives_in_the_persistent_data_folder(tmp_path: Path) -> None:
    folder = state_directory(tmp_path)
    assert folder == tmp_path / "state" and folder.is_dir()
    assert state_directory(tmp_path) == folder  # a restart finds the same folder
