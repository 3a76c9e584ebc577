"""Benchmark of the Wyoming server against the local Qwen emulator on loopback.

    python tests/benchmarks/run.py [--quick] [--out DIR] [--phases a,b] [--ha-python PY]

Writes results.json, results.md and PNG plots to DIR (default tests/benchmarks/results).
Each phase starts a fresh server process (or the floor: a plain wyoming handler that
discards audio), so its CPU time and peak RSS belong to that phase alone. The emulator and
the load generator share this process; timestamps on both sides are time.monotonic(),
which is system-wide on Linux.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parents[1]):  # sibling modules; the repository for wyoming_server
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_cgroup  # noqa: E402
from bench_load import BYTES_PER_MS, Fixture, load_fixture, run_load  # noqa: E402
from bench_metrics import collect  # noqa: E402
from bench_probe import Probe, delayed_setup  # noqa: E402
from bench_report import write_outputs  # noqa: E402
from bench_server import REPO_ROOT, ServerProcess  # noqa: E402

from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: E402

FIXTURES = ("turn_on_kitchen_lights", "what_time_is_it", "set_temperature")
# Item k of every session is "utterance-k": equal texts mean an equal split into utterances.
UTTERANCE_TEXTS = [f"utterance-{k}" for k in range(1, 9)]
# The client comparison adds a recording of two commands, which Qwen's VAD splits in two.
CLIENT_FIXTURES = (*FIXTURES, "two_commands")
FIXTURE_DIR = HERE.parents[1] / "tests" / "fixtures"
DEFAULT_OUT = HERE / "results"
DEFAULT_HA_PYTHON = REPO_ROOT / ".venv-ha" / "bin" / "python"
SETUP_DELAY_S = 0.150  # a far region: handshake and each setup event one round trip late
IDLE_SETTLE_S = 1.0
# --server-tree: the checkout whose server is measured (None: this one).
SERVER_TREE: list[Path | None] = [None]
ENDPOINTING_SILENCE_MS = 400  # Qwen endpointing: its VAD ends each request


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    concurrency: int
    chunk_ms: int = 10  # Home Assistant's pipeline cuts audio into 10 ms pieces
    floor: bool = False
    buffered: bool = False
    setup_delay_s: float = 0.0
    server_endpointing: bool = False
    quarter_core: bool = False
    paced: bool = True  # False: the whole file at once (a script, a benchmark client)
    finalize_ms: int = 0  # the emulator's finalize delay (Behaviour.finalize_delay_ms)
    clients_table: bool = False  # a row of the whole-file / paced client comparison

    def server_args(self) -> tuple[str, ...]:
        args: tuple[str, ...] = ("--buffered",) if self.buffered else ()
        if self.server_endpointing:
            args += ("--endpointing", "qwen", "--vad-silence-ms", str(ENDPOINTING_SILENCE_MS))
        return args


def _client_phases(requests: int) -> tuple[Phase, ...]:
    """One client at a time, as the third-party benchmark of issue 19 measured: a whole
    recording at once in wyoming-satellite's 1024-sample chunks, and 10 ms in real time."""
    return tuple(
        Phase(
            f"{name}_finalize_{finalize}ms",
            requests,
            1,
            chunk_ms=chunk_ms,
            paced=paced,
            finalize_ms=finalize,
            clients_table=True,
        )
        for finalize in (0, 300)
        for name, chunk_ms, paced in (("whole_file", 64, False), ("live_10ms", 10, True))
    )


# Latency phases run 10 streams at once: 10 concurrent real-time streams are still a light
# load, so latency stays realistic, and the run stays short. Floor and server rows
# alternate, so that both see the same machine load.
FULL = (
    Phase("floor_10ms", 60, 10, floor=True),
    Phase("streaming", 60, 10),
    Phase("floor_64ms", 60, 10, chunk_ms=64, floor=True),
    Phase("server_64ms", 60, 10, chunk_ms=64),
    Phase("floor_100ms", 60, 10, chunk_ms=100, floor=True),
    Phase("server_100ms", 60, 10, chunk_ms=100),
    Phase("streaming_far_region", 50, 10, setup_delay_s=SETUP_DELAY_S),
    Phase("buffered", 50, 10, buffered=True),
    Phase("server_endpointing", 50, 10, server_endpointing=True),
    Phase("streams_1", 8, 1),
    Phase("streams_50", 100, 50),
    Phase("quarter_core_1", 8, 1, quarter_core=True),
    Phase("quarter_core_5", 25, 5, quarter_core=True),
    Phase("quarter_core_10", 40, 10, quarter_core=True),
    *_client_phases(16),
)
QUICK = (
    Phase("floor_10ms", 5, 5, floor=True),
    Phase("streaming", 10, 5),
    Phase("streaming_far_region", 5, 5, setup_delay_s=SETUP_DELAY_S),
    Phase("buffered", 5, 5, buffered=True),
    Phase("server_endpointing", 5, 5, server_endpointing=True),
    *_client_phases(4),
)


async def run_phase(
    phase: Phase, emulator: QwenEmulator, probe: Probe, fixtures: list[Fixture], log: Any
) -> dict[str, Any]:
    emulator.faults.handshake_delay_seconds = phase.setup_delay_s
    behaviour = emulator.behaviour
    emulator.behaviour = dataclasses.replace(behaviour, finalize_delay_ms=phase.finalize_ms)
    if phase.clients_table:
        fixtures = [load_fixture(FIXTURE_DIR / f"{name}.wav") for name in CLIENT_FIXTURES]
    server = ServerProcess(
        emulator.url,
        extra_args=phase.server_args(),
        floor=phase.floor,
        log=log,
        server_tree=SERVER_TREE[0],
    )
    throttling: dict[str, int] = {}
    async with server:
        with contextlib.ExitStack() as stack:
            quota = (
                stack.enter_context(bench_cgroup.CpuQuota(server.pid))
                if phase.quarter_core
                else None
            )
            await asyncio.sleep(IDLE_SETTLE_S)
            idle = server.usage()
            started = time.monotonic()
            with delayed_setup(phase.setup_delay_s):
                timings = await run_load(
                    server.port,
                    fixtures,
                    requests=phase.requests,
                    concurrency=phase.concurrency,
                    prefix=phase.name,
                    chunk_ms=phase.chunk_ms,
                    paced=phase.paced,
                )
            wall_s = time.monotonic() - started
            end = server.usage()
            if quota is not None:
                throttling = quota.throttled()
    emulator.faults.handshake_delay_seconds = 0.0
    emulator.behaviour = behaviour
    samples = collect(
        [] if phase.floor else timings,  # the floor opens no Qwen sessions
        probe,
        vad_silence_ms=ENDPOINTING_SILENCE_MS if phase.server_endpointing else None,
    )
    audio_s = sum(len(t.chunk_sent) * t.chunk_bytes for t in timings if not t.error) / (
        BYTES_PER_MS * 1000
    )
    cpu_s = end.cpu_s - idle.cpu_s
    result = {
        "name": phase.name,
        "requests": phase.requests,
        "concurrency": phase.concurrency,
        "chunk_ms": phase.chunk_ms,
        "floor": phase.floor,
        "buffered": phase.buffered,
        "server_endpointing": phase.server_endpointing,
        "quarter_core": phase.quarter_core,
        "setup_delay_ms": round(phase.setup_delay_s * 1000),
        "paced": phase.paced,
        "finalize_ms": phase.finalize_ms,
        "clients_table": phase.clients_table,
        # Per fixture, the distinct transcripts (see UTTERANCE_TEXTS).
        "texts": {
            f.name: sorted({t.text for t in timings if t.fixture == f.name and t.text})
            for f in fixtures
        },
        "wall_s": round(wall_s, 2),
        "audio_s": round(audio_s, 2),
        "server_cpu_s": round(cpu_s, 3),
        "cpu_s_per_audio_s": round(cpu_s / audio_s, 5) if audio_s else None,
        "rss_idle_mb": round(idle.rss_mb, 1),
        "rss_peak_mb": round(end.hwm_mb, 1),
        "throttling": throttling,
        "client_errors": [f"{t.tag}: {t.error}" for t in timings if t.error],
        **samples.to_json(),
    }
    if phase.floor:
        result["errors"] = result["client_errors"]
    print(_line(result), flush=True)
    return result


def _line(result: dict[str, Any]) -> str:
    summary = result["summary"]
    return (
        f"{result['name']:>22}: {result['requests']} requests x{result['concurrency']} "
        f"({result['chunk_ms']} ms chunks) in {result['wall_s']:.0f} s; "
        f"CPU {result['cpu_s_per_audio_s']} s/audio-s, {result['messages_per_audio_s']} "
        f"messages/s, stop->finish p95 {summary['stop_to_finish_ms']['p95']} ms, "
        f"stop->transcript p95 {summary['stop_to_transcript_ms']['p95']} ms, "
        f"peak RSS {result['rss_peak_mb']} MB, errors {len(result['errors'])}"
    )


async def run(quick: bool, only: set[str] | None) -> dict[str, Any]:
    fixtures = [load_fixture(FIXTURE_DIR / f"{name}.wav") for name in FIXTURES]
    probe = Probe()
    started = time.monotonic()
    phases = [p for p in (QUICK if quick else FULL) if only is None or p.name in only]
    if (why := bench_cgroup.available()) is not None:
        print(f"Skipping the quarter-core phases: {why}", flush=True)
        phases = [p for p in phases if not p.quarter_core]
    # Server logs are for debugging a failed run, not results: kept out of the output folder.
    with (Path(tempfile.gettempdir()) / f"bench-server-{os.getpid()}.log").open("wb") as log:
        async with QwenEmulator(
            on_client_event=probe.on_client_event,
            on_server_event=probe.on_server_event,
            recognizer_factory=ScriptedRecognizer(UTTERANCE_TEXTS),
        ) as emulator:
            results = [await run_phase(phase, emulator, probe, fixtures, log) for phase in phases]
    return {
        "quick": quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": len(os.sched_getaffinity(0)),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
        },
        "fixtures": {f.name: round(f.audio_s, 2) for f in fixtures},
        "runtime_s": round(time.monotonic() - started, 1),
        "phases": {phase["name"]: phase for phase in results},
    }


def _run_ha_entity_bench(python: Path, out: Path) -> None:
    """The HA entity path runs inside Home Assistant, in its own venv (it pins other packages)."""
    print("Measuring the Home Assistant entity path ...", flush=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pytest",
            str(HERE / "ha_entity_bench.py"),
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_OUT": str(out.resolve())},
        check=True,
        timeout=900,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--phases", help="comma-separated phase names: run only these")
    parser.add_argument(
        "--ha-python",
        type=Path,
        default=DEFAULT_HA_PYTHON if DEFAULT_HA_PYTHON.exists() else None,
        help="Home Assistant test venv's python: also measure the HA entity path "
        "(default .venv-ha/bin/python when it exists, as .ci/run makes it)",
    )
    parser.add_argument("--no-ha", action="store_true", help="skip the HA entity path")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="results.json of an earlier run (before a change): its table goes next to this one",
    )
    parser.add_argument("--label", help="what this run measures, e.g. the commit (in results.json)")
    parser.add_argument(
        "--server-tree",
        type=Path,
        help="measure the server of another checkout (e.g. a worktree of main) with this "
        "harness and emulator",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    only = set(args.phases.split(",")) if args.phases else None
    SERVER_TREE[0] = args.server_tree
    if args.ha_python is not None and not (args.quick or args.no_ha):
        _run_ha_entity_bench(args.ha_python, args.out)
    results = asyncio.run(run(args.quick, only))
    ha_entity = args.out / "ha_entity.json"  # written by ha_entity_bench.py in the HA venv
    if ha_entity.exists() and not args.quick:
        results["ha_entity"] = json.loads(ha_entity.read_text())
    if args.label:
        results["label"] = args.label
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    write_outputs(results, args.out, baseline)
    print(f"Wrote {args.out}/results.json, results.md and plots in {results['runtime_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
