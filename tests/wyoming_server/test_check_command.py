"""``wyoming-qwen-asr check``: run as a subprocess against the emulator, and its pieces."""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from qwen_asr_realtime.const import REALTIME_PATH
from websockets.asyncio.server import ServerConnection, serve

from tests.support.ports import free_port
from wyoming_server.check import measure_connect, normalize
from wyoming_server.check_profile import OBSERVED, differences, partial_style, revisions
from wyoming_server.check_trace import ConnectionTrace, TraceFile, elide_audio
from wyoming_server.emulator import QwenEmulator, RecognizerFactory, ScriptedRecognizer
from wyoming_server.emulator.behaviour import Behaviour
from wyoming_server.settings import ServerSettings

SECRET = "sk-check-secret-0123456789"
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}
PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"


async def run_check(url: str, *args: str, key: str = SECRET) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wyoming_server",
        "check",
        "--region",
        url,
        "--vad-silence-ms",
        "200",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**CLEAN_ENV, "QWEN_API_KEY": key},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def emulator_with(recognizer: RecognizerFactory, behaviour: Behaviour) -> QwenEmulator:
    return QwenEmulator(
        api_keys=frozenset({SECRET}), recognizer_factory=recognizer, behaviour=behaviour
    )


@pytest.fixture
async def documented() -> AsyncIterator[QwenEmulator]:
    """The emulator as the documentation describes the service: text+stash, closes at once."""
    sphinx = pytest.importorskip("wyoming_server.emulator.sphinx_recognizer")
    behaviour = Behaviour(partial_style="text+stash", close_grace_seconds=0.2)
    async with emulator_with(sphinx.PocketSphinxRecognizer(), behaviour) as emulator:
        yield emulator


async def test_check_reports_what_the_service_did_and_traces_it_without_the_key(
    documented: QwenEmulator, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.jsonl"
    code, out, err = await run_check(documented.url, "--trace", str(trace))
    assert code == 0, out + err
    assert "connect: DNS " in out and ", TLS n/a, WebSocket upgrade " in out
    for sample in ("turn_on_kitchen_lights.wav", "what_time_is_it.wav"):
        for mode in ("VAD", "manual"):
            assert f"{sample}, {mode} mode: " in out
    assert out.count("' right") == 4
    assert out.count("session.update round trip ") == 4
    assert out.count("after speech_stopped") == 2 and out.count("after commit") == 2
    assert "partials: text+stash" in out
    # The order varies with the profile (committed and item.created may be left out).
    assert re.search(r"^VAD events of an utterance: speech_started, .*completed$", out, re.M)
    assert "after session.finished: the service closed the socket after " in out
    # Where the documented service differs from the one observed live.
    assert "differences from the live service as observed:" in out
    assert "  - partials: text+stash (observed: stash-only" in out
    assert "  - the service closes the socket after session.finished: yes (observed: no" in out
    assert "check: OK: 4 recordings transcribed right" in out

    text = trace.read_text(encoding="utf-8")
    assert SECRET not in text and SECRET not in out + err
    lines = [json.loads(line) for line in text.splitlines()]
    assert all(line.keys() == {"t", "connection", "direction", "event"} for line in lines)
    assert lines[0]["event"]["type"] == "check.started"
    assert lines[0]["event"]["endpoint"] == documented.url
    received = {line["event"]["type"] for line in lines if line["direction"] == "received"}
    assert {"session.created", "session.updated", PARTIAL, COMPLETED, "session.finished"} <= (
        received
    )
    sent = [line["event"] for line in lines if line["direction"] == "sent"]
    assert {"session.update", "input_audio_buffer.append", "input_audio_buffer.commit"} <= {
        event["type"] for event in sent
    }
    assert "session.finish" in {event["type"] for event in sent}
    appends = [event for event in sent if event["type"] == "input_audio_buffer.append"]
    # The audio is elided: its length in bytes stands in for the base64 text.
    assert appends and all(isinstance(event["audio"], int) for event in appends)
    assert sum(event["audio"] for event in appends) > 4 * 32000


async def test_check_of_a_service_that_behaves_as_observed_fails_on_a_wrong_transcript(
    tmp_path: Path,
) -> None:
    behaviour = Behaviour(partial_style="stash-only", close_grace_seconds=None)
    recognizer = ScriptedRecognizer(["open the garage door"])
    async with emulator_with(recognizer, behaviour) as emulator:
        code, out, err = await run_check(emulator.url)
    assert code == 1
    assert "'open the garage door' WRONG (expected 'turn on the kitchen lights')" in out
    assert "check: FAILED: 4 of 4 recordings not transcribed right" in err
    # What matches the observed service is reported, and not as a difference.
    assert "partials: stash-only" in out and "  - partials:" not in out
    assert "the socket was still open after 3 s (the client closes it)" in out
    assert "closes the socket after session.finished" not in out


async def test_check_with_a_wrong_key_says_so_and_fails(documented: QwenEmulator) -> None:
    code, out, err = await run_check(documented.url, key="sk-wrong-key-0123456789")
    assert code == 1
    assert "check: Authentication failed (HTTP 401)" in err
    assert "sk-wrong-key-0123456789" not in out + err
    assert "Traceback" not in err


async def test_check_of_an_unreachable_service_says_so_and_fails() -> None:
    url = f"ws://127.0.0.1:{free_port()}/api-ws/v1/realtime"
    code, _, err = await run_check(url)
    assert code == 1
    assert "check: Cannot connect to 127.0.0.1:" in err and "Traceback" not in err


async def _hold_open(ws: ServerConnection) -> None:
    await ws.wait_closed()


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_timed_apart_from_tcp_and_the_upgrade(
    self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with serve(_hold_open, "127.0.0.1", 0, ssl=context) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        url = f"wss://127.0.0.1:{port}{REALTIME_PATH}"
        loop = asyncio.get_running_loop()
        times = await measure_connect(ServerSettings(api_key=SECRET), url, loop.time, None)
    assert times.tls is not None and times.tls > 0
    assert times.tcp >= 0 and times.upgrade >= 0


def test_audio_is_elided_to_its_length_in_bytes() -> None:
    event = {"type": "input_audio_buffer.append", "audio": "AAECAwQ="}  # 5 bytes
    assert elide_audio(event) == {"type": "input_audio_buffer.append", "audio": 5}
    assert elide_audio({"type": "session.finish"}) == {"type": "session.finish"}


def test_the_trace_file_masks_the_key_wherever_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = TraceFile(path, SECRET)
    trace.write(0.0, "x", "received", {"type": "error", "message": f"bad key {SECRET}"})
    trace.close()
    assert SECRET not in path.read_text() and "bad key ***" in path.read_text()
    assert SECRET not in repr(trace)


def _trace_of(*partials: dict[str, Any]) -> ConnectionTrace:
    trace = ConnectionTrace("test", lambda: 0.0, None)
    for partial in partials:
        trace.message("received", json.dumps({"type": PARTIAL, "item_id": "i1", **partial}))
    return trace


def test_stash_only_partials_that_revise_are_told_apart_from_text_and_stash() -> None:
    live = _trace_of({"text": "", "stash": "今天"}, {"text": "", "stash": "今天。"})
    live.message("received", json.dumps({"type": PARTIAL, "item_id": "i1", "stash": "今天天气"}))
    assert partial_style([live]) == "stash-only"
    assert revisions([live]) == 1  # 今天。 -> 今天天气; 今天 -> 今天。 only extends
    documented = _trace_of({"text": "", "stash": "turn on"}, {"text": "turn", "stash": "on the"})
    assert partial_style([documented]) == "text+stash"
    assert revisions([documented]) == 0


def test_only_traits_that_differ_from_the_observed_service_are_listed() -> None:
    observed = {e.key: e.observed for e in OBSERVED}
    assert differences(observed) == []
    found = differences({**observed, "closes_after_finished": "yes"})
    assert len(found) == 1 and found[0].startswith(
        "the service closes the socket after session.finished: yes (observed: no"
    )


def test_transcripts_are_compared_without_case_and_punctuation() -> None:
    assert normalize("Turn on the kitchen lights.") == "turn on the kitchen lights"
    assert normalize("What time is it?") == "what time is it"
