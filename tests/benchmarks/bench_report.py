"""results.json, results.md (the tables the README shows) and the PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from bench_metrics import (
    CHUNK_FORWARD,
    FINAL_TO_TRANSCRIPT,
    STOP_TO_FINISH,
    STOP_TO_TRANSCRIPT,
)

# The targets.
HOP_TARGET_MS = 2.0
CONNECT_HIDDEN_MS = 5.0
CPU_TARGET = 0.005  # CPU-s per audio-s per stream
RSS_IDLE_MB = 40.0
RSS_10_STREAMS_MB = 60.0

LATENCY_PLOT = "latency.png"
RESOURCES_PLOT = "resources.png"

_LABELS = {
    STOP_TO_FINISH: "AudioStop → session.finish",
    FINAL_TO_TRANSCRIPT: "completed → Transcript",
    CHUNK_FORWARD: "AudioChunk → append",
    STOP_TO_TRANSCRIPT: "AudioStop → Transcript",
}


def _ok(value: float | None, limit: float) -> str:
    if value is None:
        return "-"
    return "✅" if value <= limit else "❌"


def _num(value: float | int | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _latency_table(phase: dict[str, Any]) -> list[str]:
    summary = phase["summary"]
    lines = [
        f"Streaming, {phase['requests']} requests, {phase['concurrency']} concurrent "
        "real-time streams:",
        "",
        "| Measure | n | p50 ms | p95 ms | max ms | Target p95 | Met |",
        "|---|---:|---:|---:|---:|---:|:-:|",
    ]
    for measure in (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, CHUNK_FORWARD, STOP_TO_TRANSCRIPT):
        s = summary[measure]
        hop = measure != STOP_TO_TRANSCRIPT
        lines.append(
            f"| `{measure}` ({_LABELS[measure]}) | {s['n']} | {_num(s['p50'])} | "
            f"{_num(s['p95'])} | {_num(s['max'])} | {'≤ 2' if hop else '-'} | "
            f"{_ok(s['p95'], HOP_TARGET_MS) if hop else ''} |"
        )
    return lines


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


def connect_hidden(phases: dict[str, Any]) -> dict[str, float | None]:
    near = phases["streaming"]["summary"][STOP_TO_TRANSCRIPT]
    far = phases["streaming_far_region"]["summary"][STOP_TO_TRANSCRIPT]
    if near["p50"] is None or far["p50"] is None:
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


def _resource_table(phases: dict[str, Any]) -> list[str]:
    lines = [
        "Server process (`python -m wyoming_server`, a fresh process per row):",
        "",
        "| Phase | Streams | Requests | Audio s | CPU s | CPU-s per audio-s per stream | "
        "Idle RSS MB | Peak RSS MB | Errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in sorted(phases.values(), key=lambda p: (p["concurrency"], p["name"])):
        cpu = phase["cpu_s_per_audio_s"]
        lines.append(
            f"| {phase['name']} | {phase['concurrency']} | {phase['requests']} | "
            f"{phase['audio_s']:.0f} | {phase['server_cpu_s']:.2f} | "
            f"{_num(cpu, 5)} {_ok(cpu, CPU_TARGET)} | {phase['rss_idle_mb']:.1f} "
            f"{_ok(phase['rss_idle_mb'], RSS_IDLE_MB)} | {phase['rss_peak_mb']:.1f}"
            f"{_rss_mark(phase)} | {len(phase['errors'])} |"
        )
    lines += [
        "",
        f"Targets: ≤ {CPU_TARGET} CPU-s per audio-s per stream; RSS ≤ {RSS_IDLE_MB:.0f} MB idle "
        f"and ≤ {RSS_10_STREAMS_MB:.0f} MB at 10 streams.",
    ]
    return lines


def _rss_mark(phase: dict[str, Any]) -> str:
    if phase["concurrency"] == 10 and not phase["buffered"] and not phase["setup_delay_ms"]:
        return " " + _ok(phase["rss_peak_mb"], RSS_10_STREAMS_MB)
    return ""


def _ha_table(ha: dict[str, Any]) -> list[str]:
    lines = [
        "Home Assistant entity path (`stt.py` in HA's own event loop, emulator on loopback):",
        "",
        "| Measure | n | p50 ms | p95 ms | max ms | Target p95 | Met |",
        "|---|---:|---:|---:|---:|---:|:-:|",
    ]
    for name, s in ha.get("summary", {}).items():
        hop = not name.startswith("stream_end")  # the end-to-end wait has no target
        lines.append(
            f"| `{name}` | {s['n']} | {_num(s['p50'])} | {_num(s['p95'])} | {_num(s['max'])} "
            f"| {'≤ 2' if hop else '-'} | {_ok(s['p95'], HOP_TARGET_MS) if hop else ''} |"
        )
    return lines


def markdown(results: dict[str, Any]) -> str:
    phases = results["phases"]
    machine = results["machine"]
    parts = [
        "# Benchmark results",
        "",
        f"Python {machine['python']} on {machine['platform']}, {machine['cpus']} CPUs; "
        f"{'quick run' if results['quick'] else 'full run'} in {results['runtime_s']} s. "
        "Speech fixtures (16 kHz mono) paced in real time, 100 ms chunks; "
        "`python tests/benchmarks/run.py`.",
        "",
        *_latency_table(phases["streaming"]),
        "",
        *_connect_table(phases),
        "",
        *_comparison_table(phases),
        "",
        *_resource_table(phases),
    ]
    if "ha_entity" in results:
        parts += ["", *_ha_table(results["ha_entity"])]
    parts += ["", *NOTES]
    parts += ["", f"![latency]({LATENCY_PLOT})", "", f"![resources]({RESOURCES_PLOT})", ""]
    return "\n".join(parts)


NOTES = [
    "Method: every phase starts a fresh server process; CPU is its utime+stime during the "
    "load, peak RSS its VmHWM. The emulator and the Wyoming clients share the benchmark "
    "process, so hop timings also include that process's own event-loop delays (an upper "
    "bound for the server's share). Latency phases run 10 streams at once, so 200 requests "
    "take about a minute. The emulator's recognizer is instant: the buffered baseline shows "
    "only the cost of sending the audio late; a real service must also recognize all of it "
    "after AudioStop. `completed_before_stop`, `held_chunks` (audio held while connecting, "
    "by design) and raw samples are in results.json.",
]


def _cdf(ax: Any, values: list[float], label: str) -> None:
    if not values:
        return
    ordered = sorted(values)
    n = len(ordered)
    ax.step(ordered, [(i + 1) / n for i in range(n)], where="post", label=f"{label} (n={n})")


def plot_latency(results: dict[str, Any], path: Path) -> None:
    phases = results["phases"]
    fig, (hops, total) = plt.subplots(1, 2, figsize=(12, 4.5))
    samples = phases["streaming"]["samples"]
    for measure in (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, CHUNK_FORWARD):
        _cdf(hops, samples[measure], _LABELS[measure])
    hops.axvline(HOP_TARGET_MS, color="red", linestyle="--", label="target p95 2 ms")
    hops.set(title="Server hops (streaming)", xlabel="ms", ylabel="fraction of samples")
    hops.set_xlim(left=0)
    for name, label in (
        ("streaming", "streaming"),
        ("streaming_far_region", f"streaming, setup +{SETUP_LABEL_MS} ms x 3"),
        ("buffered", "buffered baseline"),
    ):
        _cdf(total, phases[name]["samples"][STOP_TO_TRANSCRIPT], label)
    total.set(title="AudioStop → Transcript", xlabel="ms", ylabel="fraction of requests")
    total.set_xlim(left=0)
    for ax in (hops, total):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SETUP_LABEL_MS = 150


def plot_resources(results: dict[str, Any], path: Path) -> None:
    rows = sorted(
        (p for p in results["phases"].values() if not p["buffered"] and not p["setup_delay_ms"]),
        key=lambda p: p["concurrency"],
    )
    labels = [str(p["concurrency"]) for p in rows]
    fig, (cpu, rss) = plt.subplots(1, 2, figsize=(12, 4.5))
    cpu.bar(labels, [p["cpu_s_per_audio_s"] or 0 for p in rows], color="tab:blue")
    cpu.axhline(CPU_TARGET, color="red", linestyle="--", label=f"target {CPU_TARGET}")
    cpu.set(
        title="Server CPU per audio second per stream",
        xlabel="concurrent streams",
        ylabel="CPU-s / audio-s",
    )
    x = range(len(rows))
    rss.bar([i - 0.2 for i in x], [p["rss_idle_mb"] for p in rows], 0.4, label="idle")
    rss.bar([i + 0.2 for i in x], [p["rss_peak_mb"] for p in rows], 0.4, label="peak")
    rss.set_xticks(list(x), labels)
    rss.axhline(RSS_IDLE_MB, color="orange", linestyle="--", label="idle target 40 MB")
    rss.axhline(RSS_10_STREAMS_MB, color="red", linestyle="--", label="10-stream target 60 MB")
    rss.set(title="Server RSS", xlabel="concurrent streams", ylabel="MB")
    for ax in (cpu, rss):
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(results: dict[str, Any], out: Path) -> None:
    results["connect_hidden"] = connect_hidden(results["phases"])
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results))
    plot_latency(results, out / LATENCY_PLOT)
    plot_resources(results, out / RESOURCES_PLOT)
