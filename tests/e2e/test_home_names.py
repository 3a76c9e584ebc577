"""Home names for the Wyoming server, read from a real ``hass`` over its websocket API.

The server (in-process, real sockets) follows the registries: the exact context text, a
rename seen by the next request within a few seconds, an unexposed entity gone, and a
rejected token that leaves requests working without names. The CLI process reads the
token from a file and never shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from qwen_asr_realtime import Timeouts, VadConfig

from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_ws import HassWebSocket
from wyoming_server.addresses import ListenAddress
from wyoming_server.demo import transcribe_over_wyoming
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.hass import HassConfig, HomeNamesSource, websocket_url
from wyoming_server.server import QwenAsrServer
from wyoming_server.settings import ServerSettings
from wyoming_server.wav import read_wav

KEY = "test-key"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "what_time_is_it.wav"
# Onboarding's areas, the suite's kitchen light, and what these tests add.
EXPECTED = "\n".join(
    [
        "Upstairs",  # floor
        "first floor",  # its alias
        "Bedroom",  # areas, by name
        "Kitchen",
        "Living Room",
        "Study",
        "office",  # the study's alias
        "Kitchen lights",  # exposed entities, by name
        "Reading lamp",
        "book light",  # its alias
    ]
)
SEEN_WITHIN_S = 5.0


@pytest.fixture
async def home(hass: HassProcess) -> AsyncIterator[HassWebSocket]:
    """A floor, an area on it, and an exposed helper with an alias in that area; removed
    again afterwards so the suite's other tests see the home they expect."""
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        await _until_started(ws)  # hass serves before every integration is set up
        floor = await ws.command(
            "config/floor_registry/create", name="Upstairs", aliases=["first floor"]
        )
        area = await ws.command(
            "config/area_registry/create",
            name="Study",
            floor_id=floor["floor_id"],
            aliases=["office"],
        )
        helper = await ws.command("input_boolean/create", name="Reading lamp")
        entity_id = "input_boolean.reading_lamp"
        await ws.command(
            "config/entity_registry/update",
            entity_id=entity_id,
            aliases=["book light"],
            area_id=area["area_id"],
        )
        await _expose(ws, entity_id, True)
        try:
            yield ws
        finally:
            with contextlib.suppress(Exception):
                await ws.command("input_boolean/delete", input_boolean_id=helper["id"])
            await ws.command("config/area_registry/delete", area_id=area["area_id"])
            await ws.command("config/floor_registry/delete", floor_id=floor["floor_id"])


async def _until_started(ws: HassWebSocket, timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while (await ws.command("get_config")).get("state") != "RUNNING":
            await asyncio.sleep(0.2)


async def _expose(ws: HassWebSocket, entity_id: str, exposed: bool) -> None:
    await ws.command(
        "homeassistant/expose_entity",
        assistants=["conversation"],
        entity_ids=[entity_id],
        should_expose=exposed,
    )


@pytest.fixture
async def qwen() -> AsyncIterator[QwenEmulator]:
    async with QwenEmulator(
        api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer(["What time is it?"])
    ) as service:
        yield service


@pytest.fixture
async def serve(
    qwen: QwenEmulator,
) -> AsyncIterator[Callable[[HomeNamesSource], Any]]:
    """``port = await serve(source)``: a Wyoming server taking its home names from source."""
    servers: list[QwenAsrServer] = []
    sources: list[HomeNamesSource] = []

    async def _start(source: HomeNamesSource) -> int:
        source.start()
        sources.append(source)
        settings = ServerSettings(
            api_key=KEY,
            endpoint=qwen.url,
            vad=VadConfig(0.0, 200),
            timeouts=Timeouts(connect=5, setup=5, finish=10, close=1),
            home_names=source,
        )
        server = QwenAsrServer(settings)
        await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
        servers.append(server)
        return server.bound_port

    yield _start
    for server in servers:
        await server.stop(grace=2.0)
    for source in sources:
        await source.stop()


async def _request_corpus(port: int, emulator: QwenEmulator) -> str:
    """One Wyoming request as HA sends it; the context text Qwen received for it."""
    before = len(emulator.sessions)
    result = await transcribe_over_wyoming(
        "127.0.0.1", port, read_wav(FIXTURE), language="en", realtime=False
    )
    assert result.error is None, result.error
    assert len(emulator.sessions) == before + 1
    return emulator.sessions[-1].config.corpus_text or ""


async def _until_text(source: HomeNamesSource, check: Callable[[str], bool]) -> float:
    started = time.monotonic()
    async with asyncio.timeout(SEEN_WITHIN_S):
        while not check(source.text):
            await asyncio.sleep(0.05)
    return time.monotonic() - started


def _source(hass: HassProcess, token: str | None = None) -> HomeNamesSource:
    config = HassConfig(websocket_url(hass.url), token or hass.onboard().token)
    return HomeNamesSource(config, retry_delays=(0.2, 0.5))


async def test_names_follow_the_registries(
    hass: HassProcess,
    hass_version: str,
    home: HassWebSocket,
    qwen: QwenEmulator,
    serve: Callable[[HomeNamesSource], Any],
) -> None:
    source = _source(hass)
    port = await serve(source)
    async with asyncio.timeout(30):
        await source.loaded.wait()
    assert source.ha_version == hass_version
    assert source.text == EXPECTED
    assert await _request_corpus(port, qwen) == EXPECTED

    await home.command(
        "config/entity_registry/update", entity_id="input_boolean.reading_lamp", name="Desk lamp"
    )
    renamed = await _until_text(source, lambda text: "Desk lamp" in text)
    print(f"HA {hass_version}: rename seen after {renamed:.2f} s")
    corpus = await _request_corpus(port, qwen)
    assert "Desk lamp" in corpus.splitlines() and "Reading lamp" not in corpus

    await _expose(home, "input_boolean.reading_lamp", False)
    hidden = await _until_text(source, lambda text: "Desk lamp" not in text)
    print(f"HA {hass_version}: unexposed entity gone after {hidden:.2f} s")
    corpus = await _request_corpus(port, qwen)
    assert "Desk lamp" not in corpus and "book light" not in corpus
    assert "Kitchen lights" in corpus.splitlines()


async def test_a_rejected_token_leaves_requests_working_without_names(
    hass: HassProcess,
    qwen: QwenEmulator,
    serve: Callable[[HomeNamesSource], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "not-a-valid-token-1234567890"
    source = _source(hass, token)
    port = await serve(source)
    async with asyncio.timeout(10):
        while "still unavailable" not in caplog.text:  # a retry happened
            await asyncio.sleep(0.05)
    assert await _request_corpus(port, qwen) == ""
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    rejected = [w for w in warnings if "rejected the access token" in w]
    assert len(rejected) == 1, warnings  # one clear line, not one per retry
    assert "without home names" in rejected[0]
    assert not any(token in record.getMessage() for record in caplog.records)
    assert source.loads == 0


@pytest.fixture
def token_file(hass: HassProcess) -> Iterator[Path]:
    path = Path(tempfile.mkstemp(prefix="hass-token-")[1])
    path.write_text(hass.onboard().token + "\n")
    path.chmod(0o600)
    yield path
    path.unlink(missing_ok=True)


def test_the_server_process_reads_names_and_never_shows_the_token(
    hass: HassProcess, token_file: Path
) -> None:
    """``serve --hass-url --hass-token-file --debug``: names loaded; the token is in no log
    line (debug included), not in the command line, not in ``ps``."""
    token = token_file.read_text().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QWEN_", "SUPERVISOR"))}
    env["QWEN_API_KEY"] = KEY
    argv = [sys.executable, "-m", "wyoming_server", "serve", "--debug"]
    argv += ["--uri", "tcp://127.0.0.1:0", "--region", "ws://127.0.0.1:9/api-ws/v1/realtime"]
    argv += ["--hass-url", hass.url, "--hass-token-file", str(token_file)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Home names from Home Assistant" in line:
                break
        assert any("Home names from Home Assistant" in line for line in lines), lines
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        ps = subprocess.run(
            ["ps", "-ww", "-o", "args=", "-p", str(proc.pid)], capture_output=True, check=False
        )
        assert token not in cmdline and token not in ps.stdout.decode()
    finally:
        proc.terminate()
        _, rest = proc.communicate(timeout=30)
    log = "".join(lines) + rest
    assert " DEBUG " in log  # debug logging was on...
    assert token not in log and token[:16] not in log  # ...and still no part of the token
