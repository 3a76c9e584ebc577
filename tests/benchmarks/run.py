"""Benchmark of the Wyoming server against the local Qwen emulator on loopback.

    python tests/benchmarks/run.py [--quick] [--out DIR]

Writes results.json, results.md and PNG plots to DIR (default tests/benchmarks/results).
Each phase starts a fresh server process, so its CPU time and peak RSS belong to that phase
alone. The emulator and the load generator share this process; timestamps on both sides are
time.monotonic(), which is system-wide on Linux.
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench_load import Fixture, load_fixture, run_load  # noqa: E402
from bench_metrics import collect  # noqa: E402
from bench_probe import Probe, delayed_setup  # noqa: E402
from bench_report import write_outputs  # noqa: E402
from bench_server import REPO_ROOT, ServerProcess  # noqa: E402

from wyoming_server.emulator import QwenEmulator  # noqa: E402

FIXTURES = ("turn_on_kitchen_lights", "what_time_is_it", "set_temperature")
FIXTURE_DIR = HERE.parents[1] / "tests" / "fixtures"
DEFAULT_OUT = HERE / "results"
DEFAULT_HA_PYTHON = REPO_ROOT / ".venv-ha" / "bin" / "python"
SETUP_DELAY_S = 0.150  # a far region: handshake and each setup event one round trip late
IDLE_SETTLE_S = 1.0


@dataclass(frozen=True)
class Phase:
    name: str
    requests: int
    concurrency: int
    buffered: bool = False
    setup_delay_s: float = 0.0


# Latency phases run 10 streams at once: 200 sequential ~3 s requests would take 10 minutes,
# and 10 concurrent real-time streams are still a light load, so latency stays realistic.
FULL = (
    Phase("streaming", 200, 10),
    Phase("streaming_far_region", 100, 10, setup_delay_s=SETUP_DELAY_S),
    Phase("buffered", 100, 10, buffered=True),
    Phase("streams_1", 8, 1),
    Phase("streams_50", 100, 50),
)
QUICK = (
    Phase("streaming", 10, 5),
    Phase("streaming_far_region", 5, 5, setup_delay_s=SETUP_DELAY_S),
    Phase("buffered", 5, 5, buffered=True),
)


async def run_phase(
    phase: Phase, emulator: QwenEmulator, probe: Probe, fixtures: list[Fixture], log: Any
) -> dict[str, Any]:
    emulator.faults.handshake_delay_s = phase.setup_delay_s
    async with ServerProcess(emulator.url, buffered=phase.buffered, log=log) as server:
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
            )
        wall_s = time.monotonic() - started
        end = server.usage()
    emulator.faults.handshake_delay_s = 0.0
    audio_s = sum(t.audio_s for t in timings if not t.error)
    cpu_s = end.cpu_s - idle.cpu_s
    result = {
        "name": phase.name,
        "requests": phase.requests,
        "concurrency": phase.concurrency,
        "buffered": phase.buffered,
        "setup_delay_ms": round(phase.setup_delay_s * 1000),
        "wall_s": round(wall_s, 2),
        "audio_s": round(audio_s, 2),
        "server_cpu_s": round(cpu_s, 3),
        "cpu_s_per_audio_s": round(cpu_s / audio_s, 5) if audio_s else None,
        "rss_idle_mb": round(idle.rss_mb, 1),
        "rss_peak_mb": round(end.hwm_mb, 1),
        **collect(timings, probe).to_json(),
    }
    summary = result["summary"]
    print(
        f"{phase.name:>22}: {phase.requests} requests x{phase.concurrency} in {wall_s:.0f} s; "
        f"stop->finish p95 {summary['stop_to_finish_ms']['p95']} ms, "
        f"stop->transcript p95 {summary['stop_to_transcript_ms']['p95']} ms, "
        f"CPU {result['cpu_s_per_audio_s']} s/audio-s, peak RSS {result['rss_peak_mb']} MB, "
        f"errors {len(result['errors'])}",
        flush=True,
    )
    return result


async def run(quick: bool, out: Path) -> dict[str, Any]:
    fixtures = [load_fixture(FIXTURE_DIR / f"{name}.wav") for name in FIXTURES]
    probe = Probe()
    started = time.monotonic()
    # Server logs are for debugging a failed run, not results: kept out of the output folder.
    with (Path(tempfile.gettempdir()) / "bench-server.log").open("wb") as log:
        async with QwenEmulator(
            on_client_event=probe.on_client_event, on_server_event=probe.on_server_event
        ) as emulator:
            phases = [
                await run_phase(phase, emulator, probe, fixtures, log)
                for phase in (QUICK if quick else FULL)
            ]
    return {
        "quick": quick,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": _cpu_count(),
        },
        "fixtures": {f.name: round(f.audio_s, 2) for f in fixtures},
        "runtime_s": round(time.monotonic() - started, 1),
        "phases": {phase["name"]: phase for phase in phases},
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
            "-p",
            "no:cacheprovider",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "BENCH_OUT": str(out.resolve())},
        check=True,
        timeout=600,
    )


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few requests (smoke test)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--ha-python",
        type=Path,
        default=DEFAULT_HA_PYTHON if DEFAULT_HA_PYTHON.exists() else None,
        help="Home Assistant test venv's python: also measure the HA entity path "
        "(default .venv-ha/bin/python when it exists, as .ci/run makes it)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.WARNING)
    if args.ha_python is not None and not args.quick:
        _run_ha_entity_bench(args.ha_python, args.out)
    results = asyncio.run(run(args.quick, args.out))
    ha_entity = args.out / "ha_entity.json"  # written by ha_entity_bench.py in the HA venv
    if ha_entity.exists():
        results["ha_entity"] = json.loads(ha_entity.read_text())
    write_outputs(results, args.out)
    print(f"Wrote {args.out}/results.json, results.md and plots in {results['runtime_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
