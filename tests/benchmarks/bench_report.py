"""results.json and results.md (the tables the README shows); plots in bench_plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench_metrics import (
    APPEND_FORWARD,
    COALESCE_WAIT,
    FINAL_TO_TRANSCRIPT,
    FIRST_TEXT,
    LABELS,
    RTF,
    STOP_TO_FINISH,
    STOP_TO_TRANSCRIPT,
    TOTAL,
    VAD_STOP_WAIT,
)
from bench_plots import LATENCY_PLOT, QUARTER_PLOT, RESOURCES_PLOT, write_plots

# The issues' targets.
HOP_TARGET_MS = 2.0
CONNECT_HIDDEN_MS = 5.0
RSS_IDLE_MB = 40.0
RSS_10_STREAMS_MB = 60.0
FLOOR_RATIO = {10: 1.5, 100: 2.0}  # CPU-s per audio-s per stream, relative to the floor
MESSAGES_AT_10MS = 11.0  # upstream messages per second per stream
QUARTER_STOP_TO_TRANSCRIPT_MS = 20.0  # p95 at 10 streams
CHUNK_SIZES = (10, 64, 100)

_HOPS = (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, APPEND_FORWARD)


def _ok(value: float | None, limit: float) -> str:
    if value is None:
        return "-"
    return "✅" if value <= limit else "❌"


def _num(value: float | int | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p95(phase: dict[str, Any], measure: str) -> float | None:
    value: float | None = phase["summary"].get(measure, {}).get("p95")
    return value


def _ratio(value: float | None, floor: float | None) -> float | None:
    return None if value is None or not floor else value / floor


def matrix_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per path and chunk size: CPU, floor, ratio, traffic, memory, hops."""
    phases = results["phases"]
    entity = results.get("ha_entity", {}).get("phases", {})
    rows = []
    for chunk in CHUNK_SIZES:
        server = phases.get("streaming" if chunk == 10 else f"server_{chunk}ms")
        floor = phases.get(f"floor_{chunk}ms")
        if server is not None:
            rows.append(_row("Wyoming server", chunk, server, floor, server["rss_peak_mb"]))
    for chunk in CHUNK_SIZES:
        path, floor = entity.get(f"entity_{chunk}ms"), entity.get(f"floor_{chunk}ms")
        if path is not None:
            rows.append(_row("HA entity", chunk, path, floor, path["rss_growth_mb"]))
    return rows


def _row(
    path: str, chunk: int, phase: dict[str, Any], floor: dict[str, Any] | None, rss: float
) -> dict[str, Any]:
    floor_cpu = floor["cpu_s_per_audio_s"] if floor else None
    return {
        "path": path,
        "chunk_ms": chunk,
        "cpu": phase["cpu_s_per_audio_s"],
        "floor_cpu": floor_cpu,
        "ratio": _ratio(phase["cpu_s_per_audio_s"], floor_cpu),
        "messages": phase["messages_per_audio_s"],
        "rss_mb": rss,
        "hops": {m: _p95(phase, m) for m in (*_HOPS, COALESCE_WAIT)},
        "coalesce_max": phase["summary"][COALESCE_WAIT]["max"],
    }


def matrix_table(results: dict[str, Any], title: str) -> list[str]:
    lines = [
        title,
        "",
        "| Path | Input chunks | Floor CPU-s/audio-s | CPU-s/audio-s | Ratio to floor | "
        "Upstream msg/s | RSS MB | finish p95 ms | Transcript p95 ms | append p95 ms | "
        "chunk wait p95 / max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in matrix_rows(results):
        target = FLOOR_RATIO.get(row["chunk_ms"])
        mark = f" {_ok(row['ratio'], target)}" if target and row["ratio"] is not None else ""
        msg_mark = f" {_ok(row['messages'], MESSAGES_AT_10MS)}" if row["chunk_ms"] == 10 else ""
        hops = row["hops"]
        lines.append(
            f"| {row['path']} | {row['chunk_ms']} ms | {_num(row['floor_cpu'], 5)} | "
            f"{_num(row['cpu'], 5)} | {_num(row['ratio'])}x{mark} | "
            f"{_num(row['messages'], 1)}{msg_mark} | {_num(row['rss_mb'], 1)} | "
            f"{_num(hops[STOP_TO_FINISH])} | {_num(hops[FINAL_TO_TRANSCRIPT])} | "
            f"{_num(hops[APPEND_FORWARD])} | {_num(hops[COALESCE_WAIT], 1)} / "
            f"{_num(row['coalesce_max'], 1)} |"
        )
    lines += [
        "",
        "Server RSS: the process's peak; HA entity RSS: growth of Home Assistant's process "
        "during the phase. Targets: at 10 ms input ≤ 1.5x the floor and ≤ 11 upstream "
        "messages/s per stream; at 100 ms ≤ 2x the floor; hops (finish, Transcript, append) "
        "p95 ≤ 2 ms.",
    ]
    return lines


def latency_table(phase: dict[str, Any], title: str) -> list[str]:
    lines = [
        title,
        "",
        "| Measure | n | p50 ms | p95 ms | max ms | Target p95 | Met |",
        "|---|---:|---:|---:|---:|---:|:-:|",
    ]
    for measure, label in LABELS.items():
        s = phase["summary"][measure]
        if not s["n"]:
            continue
        hop = measure in _HOPS
        lines.append(
            f"| `{measure}` ({label}) | {s['n']} | {_num(s['p50'])} | {_num(s['p95'])} | "
            f"{_num(s['max'])} | {'≤ 2' if hop else '-'} | "
            f"{_ok(s['p95'], HOP_TARGET_MS) if hop else ''} |"
        )
    return lines


def connect_hidden(phases: dict[str, Any]) -> dict[str, float | None]:
    near = phases.get("streaming", {}).get("summary", {}).get(STOP_TO_TRANSCRIPT)
    far = phases.get("streaming_far_region", {}).get("summary", {}).get(STOP_TO_TRANSCRIPT)
    if not near or not far or near["p50"] is None or far["p50"] is None:
        return {"p50_growth_ms": None, "p95_growth_ms": None}
    return {
        "p50_growth_ms": round(far["p50"] - near["p50"], 3),
        "p95_growth_ms": round(far["p95"] - near["p95"], 3),
    }


def _connect_table(phases: dict[str, Any]) -> list[str]:
    far = phases["streaming_far_region"]
    growth = connect_hidden(phases)
    near_s = phases["streaming"]["summary"][STOP_TO_TRANSCRIPT]
    far_s = far["summary"][STOP_TO_TRANSCRIPT]
    return [
        f"`connect_hidden`: the emulator delays its handshake, `session.created` and "
        f"`session.updated` by {far['setup_delay_ms']} ms each; AudioStop → Transcript:",
        "",
        "| Setup delay | n | p50 ms | p95 ms | Growth p50 | Growth p95 | Target | Met |",
        "|---|---:|---:|---:|---:|---:|---:|:-:|",
        f"| none | {near_s['n']} | {_num(near_s['p50'])} | {_num(near_s['p95'])} | | | | |",
        f"| {far['setup_delay_ms']} ms x 3 | {far_s['n']} | {_num(far_s['p50'])} | "
        f"{_num(far_s['p95'])} | {_num(growth['p50_growth_ms'])} | "
        f"{_num(growth['p95_growth_ms'])} | ≤ 5 ms | "
        f"{_ok(growth['p95_growth_ms'], CONNECT_HIDDEN_MS)} |",
    ]


def _comparison_table(phases: dict[str, Any]) -> list[str]:
    streaming, buffered = phases["streaming"], phases["buffered"]
    lines = [
        "Streaming vs the buffered baseline (same server, all audio sent after AudioStop):",
        "",
        "| Measure | streaming p50 | streaming p95 | buffered p50 | buffered p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for measure in (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, STOP_TO_TRANSCRIPT):
        a, b = streaming["summary"][measure], buffered["summary"][measure]
        lines.append(
            f"| `{measure}` | {_num(a['p50'])} | {_num(a['p95'])} | "
            f"{_num(b['p50'])} | {_num(b['p95'])} |"
        )
    lines.append(
        f"| audio appends received before AudioStop | {streaming['appends_before_stop']} | | "
        f"{buffered['appends_before_stop']} | |"
    )
    return lines


def _endpointing_table(results: dict[str, Any]) -> list[str]:
    rows = [("Wyoming server (`--endpointing qwen`)", results["phases"].get("server_endpointing"))]
    rows.append(
        (
            "HA entity (*Qwen decides*)",
            results.get("ha_entity", {}).get("phases", {}).get("entity_qwen_endpointing"),
        )
    )
    lines = [
        "Qwen endpointing (10 ms input, silence 400 ms): from the AudioChunk that completes "
        "the silence Qwen's VAD needs to its `speech_stopped`, and `completed` → Transcript:",
        "",
        "| Path | n | wait p50 ms | wait p95 ms | wait max ms | completed → Transcript p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, phase in rows:
        if phase is None:
            continue
        s = phase["summary"][VAD_STOP_WAIT]
        lines.append(
            f"| {label} | {s['n']} | {_num(s['p50'])} | {_num(s['p95'])} | {_num(s['max'])} | "
            f"{_num(_p95(phase, FINAL_TO_TRANSCRIPT))} |"
        )
    return lines


def _p50(phase: dict[str, Any], measure: str) -> float | None:
    value: float | None = phase["summary"].get(measure, {}).get("p50")
    return value


def _clients_table(phases: dict[str, Any]) -> list[str]:
    """Issue 19: a whole recording sent at once next to 10 ms in real time, one client."""
    rows = [p for p in phases.values() if p.get("clients_table")]
    if not rows:
        return []
    whole = {p["finalize_ms"]: p for p in rows if not p["paced"]}
    live = {p["finalize_ms"]: p for p in rows if p["paced"]}
    lines = [
        "One client at a time, fixtures in rotation (with `two_commands`); total and first "
        "text from the client's first event, ms (p50 / p95):",
        "",
        "| client | finalize | requests | total | first text | RTF p50 | AudioStop → "
        "Transcript p95 | CPU s/audio-s | same transcripts as live |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for phase in rows:
        peer = live.get(phase["finalize_ms"]) if not phase["paced"] else None
        same = "-" if peer is None else ("yes" if phase["texts"] == peer["texts"] else "NO")
        lines.append(
            f"| {'10 ms, real time' if phase['paced'] else 'whole file, 1024 samples'} "
            f"| {phase['finalize_ms']} ms | {phase['requests']} "
            f"| {_num(_p50(phase, TOTAL), 0)} / {_num(_p95(phase, TOTAL), 0)} "
            f"| {_num(_p50(phase, FIRST_TEXT), 0)} / {_num(_p95(phase, FIRST_TEXT), 0)} "
            f"| {_num(_p50(phase, RTF), 3)} | {_num(_p95(phase, STOP_TO_TRANSCRIPT), 1)} "
            f"| {_num(phase['cpu_s_per_audio_s'], 4)} | {same} |"
        )
    target = whole.get(300)
    if target is not None:
        p95 = _p95(target, TOTAL)
        lines += [
            "",
            f"Target (whole file, finalize 300 ms): total p95 <= 400 ms: {_num(p95, 0)} ms "
            f"{_ok(p95, 400.0)}.",
        ]
    return lines


def _resource_table(phases: dict[str, Any]) -> list[str]:
    lines = [
        "Server process (a fresh process per row; 10 ms input unless noted):",
        "",
        "| Phase | Streams | Chunks | Requests | Audio s | CPU s | CPU-s per audio-s per stream | "
        "Idle RSS MB | Peak RSS MB | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in sorted(
        (p for p in phases.values() if not p["quarter_core"]),
        key=lambda p: (p["floor"], p["concurrency"], p["chunk_ms"], p["name"]),
    ):
        lines.append(
            f"| {phase['name']} | {phase['concurrency']} | {phase['chunk_ms']} ms | "
            f"{phase['requests']} | {phase['audio_s']:.0f} | {phase['server_cpu_s']:.2f} | "
            f"{_num(phase['cpu_s_per_audio_s'], 5)} | {phase['rss_idle_mb']:.1f} "
            f"{_ok(phase['rss_idle_mb'], RSS_IDLE_MB)} | {phase['rss_peak_mb']:.1f}"
            f"{_rss_mark(phase)} | {len(phase['errors'])} |"
        )
    lines += [
        "",
        f"Targets: RSS ≤ {RSS_IDLE_MB:.0f} MB idle and ≤ {RSS_10_STREAMS_MB:.0f} MB at 10 streams.",
    ]
    return lines


def _rss_mark(phase: dict[str, Any]) -> str:
    if phase["name"] == "streaming":
        return " " + _ok(phase["rss_peak_mb"], RSS_10_STREAMS_MB)
    return ""


def _quarter_table(phases: dict[str, Any]) -> list[str]:
    rows = [p for p in phases.values() if p["quarter_core"]]
    if not rows:
        return []
    lines = [
        "A quarter of one core (the server in a cgroup v1 with `cpu.cfs_quota_us=25000`, "
        "10 ms input):",
        "",
        "| Streams | Answered | CPU-s/audio-s | Throttled periods | Audio lost ms | "
        "AudioStop → Transcript p50 / p95 ms | finish p95 ms | Transcript p95 ms | "
        "append p95 ms | Target | Met |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    for p in sorted(rows, key=lambda p: p["concurrency"]):
        total = p["summary"][STOP_TO_TRANSCRIPT]
        throttled = p["throttling"]
        target = p["concurrency"] == 10
        met = _ok(total["p95"], QUARTER_STOP_TO_TRANSCRIPT_MS) if target else ""
        if target and p["answered"] != p["requests"]:
            met = "❌"
        lines.append(
            f"| {p['concurrency']} | {p['answered']}/{p['requests']} | "
            f"{_num(p['cpu_s_per_audio_s'], 5)} | "
            f"{throttled.get('nr_throttled', '-')}/{throttled.get('nr_periods', '-')} | "
            f"{p['audio_lost_ms']:.0f} | {_num(total['p50'])} / {_num(total['p95'])} | "
            f"{_num(_p95(p, STOP_TO_FINISH))} | {_num(_p95(p, FINAL_TO_TRANSCRIPT))} | "
            f"{_num(_p95(p, APPEND_FORWARD))} | {'≤ 20 ms' if target else ''} | {met} |"
        )
    return lines


def markdown(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    phases = results["phases"]
    machine = results["machine"]
    parts = [
        "# Benchmark results",
        "",
        f"Python {machine['python']} on {machine['platform']}, {machine['cpus']} CPUs "
        f"(load average {machine.get('load_avg', '-')} at the end); "
        f"{'quick run' if results['quick'] else 'full run'} in {results['runtime_s']} s. "
        "Speech fixtures (16 kHz mono) paced in real time; `python tests/benchmarks/run.py`.",
        "",
        *matrix_table(results, "Per stream, concurrent real-time streams, by input chunk size:"),
    ]
    if baseline is not None:
        parts += ["", *matrix_table(baseline, f"Before ({baseline.get('label', 'baseline')}):")]
    if "streaming" in phases:
        parts += ["", *latency_table(phases["streaming"], _streaming_title(phases["streaming"]))]
    if "streaming" in phases and "streaming_far_region" in phases:
        parts += ["", *_connect_table(phases)]
    if "streaming" in phases and "buffered" in phases:
        parts += ["", *_comparison_table(phases)]
    parts += ["", *_endpointing_table(results), "", *_quarter_table(phases)]
    if clients := _clients_table(phases):
        parts += ["", *clients]
    parts += ["", *_resource_table(phases)]
    entity = results.get("ha_entity", {}).get("phases", {}).get("entity_10ms")
    if entity is not None:
        title = "Home Assistant entity path (`stt.py` in HA's own event loop), 10 ms input:"
        parts += ["", *latency_table(entity, title)]
    parts += ["", *NOTES]
    parts += ["", f"![latency]({LATENCY_PLOT})", "", f"![resources]({RESOURCES_PLOT})"]
    if any(p["quarter_core"] for p in phases.values()):
        parts += ["", f"![quarter core]({QUARTER_PLOT})"]
    return "\n".join([*parts, ""])


def _streaming_title(phase: dict[str, Any]) -> str:
    return (
        f"Wyoming server, {phase['requests']} requests, {phase['concurrency']} concurrent "
        f"real-time streams, {phase['chunk_ms']} ms input:"
    )


NOTES = [
    "Method: every phase starts a fresh server (or floor) process; CPU is its utime+stime "
    "during the load, peak RSS its VmHWM. The floor is a plain `wyoming` `AsyncEventHandler` "
    "that reads and discards the audio, measured in the same run under the same load. The "
    "HA entity path runs in Home Assistant's test process with the emulator on its own "
    "thread: its CPU is the process's minus that thread's; its floor is the same paced "
    "audio source read and discarded. The emulator and the Wyoming clients share the "
    "benchmark process, so hop timings also include that process's own event-loop delays "
    "(an upper bound for the server's share). Samples (per-chunk measures thinned to 500 "
    "per phase), `held_chunks` (audio held while connecting, by design) and throttling "
    "counters are in results.json.",
]


def write_outputs(results: dict[str, Any], out: Path, baseline: dict[str, Any] | None) -> None:
    results["connect_hidden"] = connect_hidden(results["phases"])
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results, baseline))
    write_plots(results, out, baseline)
