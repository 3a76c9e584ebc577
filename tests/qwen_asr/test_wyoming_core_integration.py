"""Home Assistant's core ``wyoming`` integration as the client of our Wyoming server.

The server runs in a child process (tests/support/qwen_asr/run_wyoming_server.py) because the Home
Assistant venv may pin an older ``wyoming`` than the server needs: with HA 2025.4 set
QWEN_SERVER_PYTHON to the server venv's interpreter; with newer HA (whose wyoming pin is
recent enough) the current interpreter is used. The server's Qwen endpoint is the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import stt
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.support.ports import free_port

from .conftest import TEST_KEY, chunks, pcm_metadata, until

BOOTSTRAP = Path(__file__).resolve().parents[1] / "support" / "qwen_asr" / "run_wyoming_server.py"
WHAT_TIME = "what time is it"
STARTUP_SECONDS = 15.0
STOP_SECONDS = 5.0
REQUEST_SECONDS = 15.0

StartServer = Callable[..., Awaitable[int]]


def _server_python() -> str:
    """The interpreter for the server process, or skip when none can run it."""
    configured = os.environ.get("QWEN_SERVER_PYTHON")
    if configured:
        return configured
    try:
        version = importlib_metadata.version("wyoming")
    except importlib_metadata.PackageNotFoundError:
        pytest.skip("wyoming is not installed and QWEN_SERVER_PYTHON is not set")
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) < (1, 10):
        pytest.skip(
            f"this venv has wyoming {version} (HA's pin); the server needs >= 1.10: "
            "set QWEN_SERVER_PYTHON to the server venv's python"
        )
    return sys.executable


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no server log>"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


async def _wait_for_port(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"the Wyoming server exited with {process.returncode}:\n{_tail(log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                pytest.fail(f"the Wyoming server did not listen in time:\n{_tail(log)}")
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return


@pytest.fixture
def wyoming_server(emulator: Any, tmp_path: Path) -> Iterator[StartServer]:
    """``port = await wyoming_server(endpoint)`` starts our server against ``endpoint``."""
    python = _server_python()
    processes: list[subprocess.Popen[bytes]] = []
    env = {key: value for key, value in os.environ.items() if not key.startswith("QWEN_")}
    env["QWEN_API_KEY"] = TEST_KEY  # never on the command line

    async def _start(endpoint: str, *extra: str) -> int:
        port = free_port()
        log = tmp_path / f"server-{port}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [
                    python,
                    str(BOOTSTRAP),
                    "--uri",
                    f"tcp://127.0.0.1:{port}",
                    "--region",
                    endpoint,
                    "--timeout",
                    "5",
                    *extra,
                ],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        processes.append(process)
        await _wait_for_port(process, port, log)
        return port

    yield _start
    for process in processes:
        _stop(process)


async def _setup_wyoming(hass: HomeAssistant, port: int) -> MockConfigEntry:
    """A loaded core ``wyoming`` config entry for the server on ``port``."""
    # HA's core integration holds the exposure settings that ``conversation`` (a dependency
    # of ``wyoming``) reads at setup.
    assert await async_setup_component(hass, "homeassistant", {})
    entry = MockConfigEntry(
        domain="wyoming", title="Qwen ASR", data={"host": "127.0.0.1", "port": port}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def _stt_entity(hass: HomeAssistant, entry: MockConfigEntry) -> stt.SpeechToTextEntity:
    registry = er.async_get(hass)
    entity_ids = [
        item.entity_id
        for item in er.async_entries_for_config_entry(registry, entry.entry_id)
        if item.domain == "stt"
    ]
    assert len(entity_ids) == 1, entity_ids
    entity = stt.async_get_speech_to_text_entity(hass, entity_ids[0])
    assert entity is not None
    return entity


def _metadata(entity: stt.SpeechToTextEntity) -> stt.SpeechMetadata:
    metadata: stt.SpeechMetadata = pcm_metadata("en")
    assert entity.check_metadata(metadata), entity.supported_languages
    return metadata


async def _transcribe(entity: stt.SpeechToTextEntity, pcm: bytes) -> stt.SpeechResult:
    stream: AsyncIterator[bytes] = chunks(pcm, 2048)
    async with asyncio.timeout(REQUEST_SECONDS):
        return await entity.async_process_audio_stream(_metadata(entity), stream)


async def test_core_wyoming_stt_transcribes_through_qwen(
    hass: HomeAssistant,
    emulator: Any,
    wyoming_server: StartServer,
    speech_pcm: Callable[..., bytes],
) -> None:
    """HA's wyoming STT entity streams the audio to our server, which gets it from Qwen."""
    emulator.recognizer_factory.transcripts = [WHAT_TIME]
    port = await wyoming_server(emulator.url)
    entry = await _setup_wyoming(hass, port)
    entity = _stt_entity(hass, entry)

    result = await _transcribe(entity, speech_pcm("what_time_is_it"))

    assert result.result is stt.SpeechResultState.SUCCESS
    assert result.text == WHAT_TIME
    session = emulator.sessions[-1]
    assert session.audio_bytes > 0
    await until(lambda: "session.finish" in session.client_types)
    assert session.auth_scheme is not None


async def test_core_wyoming_stt_reports_an_error_when_qwen_rejects_the_key(
    hass: HomeAssistant,
    emulator: Any,
    wyoming_server: StartServer,
    speech_pcm: Callable[..., bytes],
) -> None:
    """A rejected key becomes an ERROR result in HA, promptly (no hang)."""
    port = await wyoming_server(emulator.url)
    entry = await _setup_wyoming(hass, port)  # Describe does not need Qwen
    entity = _stt_entity(hass, entry)
    emulator.faults.reject_status = 401

    result = await _transcribe(entity, speech_pcm("what_time_is_it"))

    assert result.result is stt.SpeechResultState.ERROR
    assert result.text is None
    assert [rejected.status for rejected in emulator.rejected] == [401]
    assert emulator.sessions == []


async def test_server_endpointing_answers_before_the_stream_ends(
    hass: HomeAssistant,
    emulator: Any,
    wyoming_server: StartServer,
    speech_pcm: Callable[..., bytes],
) -> None:
    """HA 2026.10+: with --endpointing qwen, HA runs no VAD of its own and takes the early
    Transcript, sent as soon as Qwen completes the first utterance."""
    emulator.recognizer_factory.transcripts = [WHAT_TIME]
    port = await wyoming_server(emulator.url, "--endpointing", "qwen", "--vad-silence-ms", "300")
    entity = _stt_entity(hass, await _setup_wyoming(hass, port))
    if not hasattr(entity, "audio_processing"):
        pytest.skip("this Home Assistant has no audio_processing (before 2026.5)")
    assert entity.audio_processing.requires_external_vad is False

    async with asyncio.timeout(REQUEST_SECONDS):
        result = await entity.async_process_audio_stream(
            # The stream never ends: only an early Transcript can answer within the timeout.
            _metadata(entity),
            chunks(speech_pcm("what_time_is_it"), 2048, then_wait=True),
        )
    assert result.result is stt.SpeechResultState.SUCCESS
    assert result.text == WHAT_TIME
