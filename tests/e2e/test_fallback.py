"""When Qwen fails, a second STT engine answers with the same audio, in a real hass.

The second engine is HA's core ``wyoming`` integration in front of another
``wyoming-qwen-asr serve --no-vad`` and its own emulator: its transcript ("utterance 1 of
2.9 seconds") tells how much audio it heard, and the primary emulator only ever says
COMMAND. Both paths are run: the qwen_asr entity with the option "If Qwen fails, use" set to
that wyoming entity, and a wyoming-qwen-asr server with ``--fallback-uri``. "No audio lost":
the answer equals the second engine's own transcript of the same run. Each case prints the
time from the last audio frame to the transcript (not asserted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from tests.support.e2e.assist import AssistRun, run_pipeline, speech_pcm
from tests.support.e2e.engines import _delete_pipeline, _pipeline
from tests.support.e2e.entries import (
    Entry,
    add_qwen_entry,
    add_wyoming_entry,
    diagnostics,
    flows_in_progress,
    set_settings,
    wait_for,
)
from tests.support.e2e.flows import DOMAIN
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_ws import HassWebSocket
from tests.support.e2e.services import EmulatorProcess, WyomingServerProcess

from .conftest import API_KEY, COMMAND

DROP_1S = ["--drop-after-audio-ms", "1000"]
STALL_AT_FINISH = ["--stall-on", "session.finish"]
PATHS = ("qwen_asr", "wyoming")
# Longer than a run (speech, then silence until HA's VAD ends it), so the second run is
# sure to come while the circuit is still open.
BREAKER_S = 15


@dataclass
class SecondEngine:
    server: WyomingServerProcess
    entry: Entry
    pipeline_id: str


@dataclass
class Primary:
    path: str
    emulator: EmulatorProcess
    entry: Entry
    pipeline_id: str
    server: WyomingServerProcess | None = None


@pytest.fixture(scope="module")
def second(hass: HassProcess) -> Iterator[SecondEngine]:
    with (
        EmulatorProcess(api_keys=[API_KEY]) as emulator,
        WyomingServerProcess(
            qwen_url=emulator.start(), api_key=API_KEY, extra_args=["--no-vad"]
        ) as server,
    ):
        server.start()
        entry = add_wyoming_entry(hass, server.port)
        pipeline_id = _pipeline(hass, "Second engine", entry.entity_id)
        try:
            yield SecondEngine(server, entry, pipeline_id)
        finally:
            _delete_pipeline(hass, pipeline_id)
            hass.rest().delete_entry(entry.entry_id)


@pytest.fixture(params=PATHS)
def primary(
    request: pytest.FixtureRequest, hass: HassProcess, second: SecondEngine
) -> Iterator[Primary]:
    """The engine under test, its fallback the second engine; its emulator says COMMAND."""
    if not second.server.running:
        second.server.start()
    with ExitStack() as stack:
        emulator = stack.enter_context(EmulatorProcess(api_keys=[API_KEY], transcripts=[COMMAND]))
        emulator.start()
        server = None
        if request.param == "qwen_asr":
            entry = add_qwen_entry(hass, emulator.url, API_KEY)
            set_settings(hass, entry, {"fallback_stt": second.entry.entity_id})
        else:
            server = stack.enter_context(
                WyomingServerProcess(
                    qwen_url=emulator.url,
                    api_key=API_KEY,
                    extra_args=[
                        "--fallback-uri",
                        f"tcp://127.0.0.1:{second.server.port}",
                        "--fallback-retry-seconds",
                        "0",
                    ],
                )
            )
            server.start()
            entry = add_wyoming_entry(hass, server.port)
        pipeline_id = _pipeline(hass, f"Primary {request.param}", entry.entity_id)
        try:
            yield Primary(request.param, emulator, entry, pipeline_id, server)
        finally:
            _delete_pipeline(hass, pipeline_id)
            hass.rest().delete_entry(entry.entry_id)


async def _run(hass: HassProcess, pipeline_id: str) -> AssistRun:
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        return await run_pipeline(ws, pipeline_id, speech_pcm())


def _report(case: str, run: AssistRun) -> None:
    """The time from the end of speech (HA's VAD: the engine's AudioStop) to the transcript."""
    text = run.transcript if run.has("stt-end") else None
    ended = run.first("stt-vad-end")[0] if run.has("stt-vad-end") else run.last_frame
    answered = run.first("stt-end" if text is not None else "error")[0]
    print(f"\n{case}: {text!r}, end of speech -> answer {(answered - ended) * 1000:.0f} ms")


@pytest.mark.parametrize(
    ("case", "faults"),
    [("refused", None), ("dropped after 1 s", DROP_1S), ("stalled", STALL_AT_FINISH)],
)
async def test_failing_qwen_is_answered_by_the_second_engine(
    hass: HassProcess,
    second: SecondEngine,
    primary: Primary,
    case: str,
    faults: list[str] | None,
) -> None:
    own = await _run(hass, second.pipeline_id)
    _report("the second engine alone", own)
    expected = own.transcript
    assert expected.startswith("utterance 1 of"), expected
    if faults is None:
        primary.emulator.stop()  # nothing listens: the connection is refused
    else:
        primary.emulator.restart(faults=faults)
    run = await _run(hass, primary.pipeline_id)
    _report(f"{primary.path}, {case}", run)
    assert run.transcript == expected
    if primary.path == "qwen_asr":
        last = diagnostics(hass, primary.entry.entry_id)["speech_to_text"][0]["last_fallback"]
        assert last["entity_id"] == second.entry.entity_id and last["result"] == "success"


async def test_rejected_key_is_an_error_not_the_second_engine(
    hass: HassProcess, primary: Primary
) -> None:
    primary.emulator.restart(api_keys=["sk-e2e-another-key"])
    run = await _run(hass, primary.pipeline_id)
    _report(f"{primary.path}, rejected key", run)
    assert run.types[-2:] == ["error", "run-end"], run.types
    if primary.path == "qwen_asr":
        wait_for(
            lambda: [
                flow
                for flow in flows_in_progress(hass, DOMAIN)
                if flow["context"].get("entry_id") == primary.entry.entry_id
                and flow["context"].get("source") == "reauth"
            ],
            what="a reauth flow",
        )
        (stt,) = diagnostics(hass, primary.entry.entry_id)["speech_to_text"]
        assert stt["last_fallback"] == {}


async def test_second_engine_down_returns_the_error(
    hass: HassProcess, second: SecondEngine, primary: Primary
) -> None:
    second.server.stop()
    primary.emulator.stop()
    started = time.monotonic()
    run = await _run(hass, primary.pipeline_id)
    _report(f"{primary.path}, second engine down", run)
    assert run.types[-2:] == ["error", "run-end"], run.types
    assert time.monotonic() - started < 30  # bounded: the run's own timeout is 30 s


@pytest.mark.parametrize("primary", ["wyoming"], indirect=True)
async def test_breaker_skips_qwen_then_tries_it_again(
    hass: HassProcess, second: SecondEngine, primary: Primary
) -> None:
    assert primary.server is not None
    primary.server.extra_args[-1] = str(BREAKER_S)  # --fallback-retry-seconds
    primary.server.restart()
    primary.emulator.restart(faults=DROP_1S)
    expected = (await _run(hass, second.pipeline_id)).transcript
    first = await _run(hass, primary.pipeline_id)
    _report("breaker: Qwen drops", first)
    assert first.transcript == expected
    primary.emulator.restart(faults=[])  # Qwen works again, but the circuit is open
    skipped = await _run(hass, primary.pipeline_id)
    _report("breaker: Qwen skipped", skipped)
    assert skipped.transcript == expected
    await asyncio.sleep(BREAKER_S)  # the circuit closes: Qwen is tried again
    again = await _run(hass, primary.pipeline_id)
    _report("breaker: Qwen tried again", again)
    assert again.transcript == COMMAND
