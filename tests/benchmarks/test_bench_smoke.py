"""Smoke test of the benchmark: a quick run writes output files that parse.

Checks behaviour, never timing: the buffered baseline sends no audio before AudioStop and
streaming does. Timing targets are the benchmark's business, not the test suite's.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

# Loaded by path under a distinct name: "run" is too generic to put on sys.path as is.
_SPEC = importlib.util.spec_from_file_location("bench_run", Path(__file__).with_name("run.py"))
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = bench  # dataclasses look their module up there
_SPEC.loader.exec_module(bench)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    assert bench.main(["--quick", "--out", str(out)]) == 0
    return out


def test_outputs_exist_and_parse(results_dir: Path) -> None:
    results = json.loads((results_dir / "results.json").read_text())
    assert set(results["phases"]) == {
        "floor_10ms",
        "streaming",
        "streaming_far_region",
        "buffered",
        "server_endpointing",
        *(f"{client}_finalize_{ms}ms" for client in ("whole_file", "live_10ms") for ms in (0, 300)),
    }
    for phase in results["phases"].values():
        assert phase["errors"] == [], phase["name"]
        assert phase["cpu_s_per_audio_s"] > 0
        assert phase["rss_peak_mb"] > 0
    streaming = results["phases"]["streaming"]
    for measure in ("stop_to_finish_ms", "final_to_transcript_ms", "append_forward_ms"):
        assert streaming["summary"][measure]["n"] > 0
    assert streaming["audio_lost_ms"] == 0
    assert "p95_growth_ms" in results["connect_hidden"]

    table = (results_dir / "results.md").read_text()
    assert "| `stop_to_finish_ms`" in table
    assert "| Wyoming server | 10 ms |" in table  # the chunk size x path table
    assert "buffered" in table
    for name in ("latency.png", "resources.png"):
        assert (results_dir / name).read_bytes().startswith(PNG_MAGIC)


def test_ha_sized_pieces_are_coalesced(results_dir: Path) -> None:
    """10 ms AudioChunks, as Home Assistant sends them, reach Qwen as ~100 ms appends."""
    streaming = json.loads((results_dir / "results.json").read_text())["phases"]["streaming"]
    # One append per 100 ms, plus session.update and session.finish per request: far
    # from the 100 messages per second that one append per chunk would be.
    assert 9 <= streaming["messages_per_audio_s"] <= 15


def test_server_endpointing_answers_before_the_audio_ends(results_dir: Path) -> None:
    phase = json.loads((results_dir / "results.json").read_text())["phases"]["server_endpointing"]
    assert phase["completed_before_stop"] == phase["requests"] == phase["answered"]
    assert phase["summary"]["vad_stop_wait_ms"]["n"] == phase["requests"]


def test_buffered_baseline_holds_all_audio_until_stop(results_dir: Path) -> None:
    phases = json.loads((results_dir / "results.json").read_text())["phases"]
    buffered, streaming = phases["buffered"], phases["streaming"]
    assert buffered["errors"] == []
    # The emulator timestamps: no append arrives before the client's AudioStop ...
    assert buffered["appends_before_stop"] == 0
    assert buffered["summary"]["stop_to_transcript_ms"]["n"] == buffered["requests"]
    # ... while streaming forwards audio during speech.
    assert streaming["appends_before_stop"] > 0


def test_a_whole_file_goes_as_a_recording_and_live_audio_does_not(results_dir: Path) -> None:
    phases = json.loads((results_dir / "results.json").read_text())["phases"]
    for finalize in (0, 300):
        whole = phases[f"whole_file_finalize_{finalize}ms"]
        live = phases[f"live_10ms_finalize_{finalize}ms"]
        assert whole["manual_sessions"] == whole["answered"] == whole["requests"]
        assert live["manual_sessions"] == 0 and live["answered"] == live["requests"]
        assert whole["texts"] == live["texts"]  # the same split into utterances
        assert whole["texts"]["two_commands"] == ["utterance-1 utterance-2"]
        assert whole["summary"]["total_ms"]["n"] == whole["requests"]
    assert "whole file, 1024 samples" in (results_dir / "results.md").read_text()
