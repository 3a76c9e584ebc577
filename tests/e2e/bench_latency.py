"""The delay a user feels, through a real hass: prints and records, never asserts.

    .venv/bin/python -m pytest tests/e2e/bench_latency.py -q

(pytest collects this file only when named, so the test suite does not run it.) For each HA
version, engine and endpointing mode, ``QWEN_E2E_BENCH_RUNS`` (default 5) pipeline runs of the
kitchen-lights command at real time, measured on the client's clock:

- speech end -> stt-end: the satellite keeps streaming (silence) until HA stops listening;
  from the last frame with speech to the transcript.
- HA VAD end -> stt-end: same runs, from HA's stt-vad-end event to stt-end (only where HA's
  VAD decides).
- last frame -> stt-end: the satellite ends the audio itself 300 ms after the speech (empty
  frame); from that frame to the transcript.

Results: ``$QWEN_E2E_BENCH_OUT`` (default bench-results/tmp/e2e-latency) as JSON and Markdown.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.e2e.assist import AssistRun, run_pipeline, speech_pcm
from tests.support.e2e.engines import MODES, Engine
from tests.support.e2e.hass_env import PROJECT
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_ws import HassWebSocket

from .conftest import COMMAND

RUNS = int(os.environ.get("QWEN_E2E_BENCH_RUNS", "5"))
OUT = Path(os.environ.get("QWEN_E2E_BENCH_OUT", PROJECT / "bench-results" / "tmp" / "e2e-latency"))
METRICS = ("speech_end_to_stt_end", "ha_vad_end_to_stt_end", "last_frame_to_stt_end")
LABELS = {
    "speech_end_to_stt_end": "speech end → stt-end",
    "ha_vad_end_to_stt_end": "HA VAD end → stt-end",
    "last_frame_to_stt_end": "last frame → stt-end",
}


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    yield rows
    table = _markdown(rows)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "e2e_latency.json").write_text(json.dumps({"runs": RUNS, "rows": rows}, indent=1))
    (OUT / "e2e_latency.md").write_text(table)
    # Printed past pytest's output capture: the numbers are the point of this file.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nEnd-to-end latency ({RUNS} runs each; written to {OUT}):\n{table}")


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 1)


async def _measure(hass: HassProcess, engine: Engine) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {metric: [] for metric in METRICS}
    pcm = speech_pcm()
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        for _ in range(RUNS):
            run: AssistRun = await run_pipeline(ws, engine.pipeline_id, pcm)
            if run.has("stt-end") and run.transcript == COMMAND:
                stt_end = run.first("stt-end")[0]
                samples["speech_end_to_stt_end"].append(_ms(run.speech_end, stt_end))
                if run.has("stt-vad-end"):
                    vad_end = run.first("stt-vad-end")[0]
                    samples["ha_vad_end_to_stt_end"].append(_ms(vad_end, stt_end))
            ended = await run_pipeline(
                ws, engine.pipeline_id, pcm, trailing_silence_s=0.3, end_stream=True
            )
            if ended.stream_ended and ended.has("stt-end"):
                samples["last_frame_to_stt_end"].append(
                    _ms(ended.last_frame, ended.first("stt-end")[0])
                )
    return samples


@pytest.mark.parametrize("mode", MODES)
async def test_latency(
    hass: HassProcess,
    hass_version: str,
    engine: Engine,
    mode: str,
    results: list[dict[str, Any]],
) -> None:
    engine.set_mode(mode)
    samples = await _measure(hass, engine)
    results.append(
        {"ha": hass_version, "engine": engine.name, "endpointing": mode, "samples_ms": samples}
    )


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


def _markdown(rows: list[dict[str, Any]]) -> str:
    header = "| HA | engine | endpointing | " + " | ".join(LABELS[m] for m in METRICS) + " |"
    lines = [header, "|" + "---|" * (3 + len(METRICS))]
    for row in rows:
        cells = [_summary(row["samples_ms"][metric]) for metric in METRICS]
        lines.append(
            f"| {row['ha']} | {row['engine']} | {row['endpointing']} | " + " | ".join(cells) + " |"
        )
    lines.append("")
    lines.append("Milliseconds, median (min-max); n/a where the mode has no such moment.")
    return "\n".join(lines) + "\n"
