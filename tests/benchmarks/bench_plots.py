"""The PNG plots of a benchmark run (matplotlib, files only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from bench_metrics import (
    APPEND_FORWARD,
    COALESCE_WAIT,
    FINAL_TO_TRANSCRIPT,
    LABELS,
    STOP_TO_FINISH,
    STOP_TO_TRANSCRIPT,
)

LATENCY_PLOT = "latency.png"
RESOURCES_PLOT = "resources.png"
QUARTER_PLOT = "quarter_core.png"
HOP_TARGET_MS = 2.0
CHUNK_SIZES = (10, 64, 100)


def _cdf(ax: Any, phase: dict[str, Any], measure: str, label: str) -> None:
    """The CDF of a phase's stored samples (thinned), labelled with how many were measured."""
    values = phase["samples"][measure]
    if not values:
        return
    ordered = sorted(values)
    n = len(ordered)
    measured = phase["summary"][measure]["n"]
    ax.step(ordered, [(i + 1) / n for i in range(n)], where="post", label=f"{label} (n={measured})")


def _finish(fig: Any, axes: Any, path: Path) -> None:
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(results: dict[str, Any], path: Path) -> None:
    phases = results["phases"]
    fig, (hops, wait, total) = plt.subplots(1, 3, figsize=(16, 4.5))
    for measure in (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, APPEND_FORWARD):
        _cdf(hops, phases["streaming"], measure, LABELS[measure])
    hops.axvline(HOP_TARGET_MS, color="red", linestyle="--", label="target p95 2 ms")
    hops.set(title="Server hops (10 ms input)", xlabel="ms", ylabel="fraction of samples")
    hops.set_xlim(0, max(4.0, HOP_TARGET_MS * 2))
    _cdf(wait, phases["streaming"], COALESCE_WAIT, "AudioChunk → its append, server")
    entity = results.get("ha_entity", {}).get("phases", {}).get("entity_10ms")
    if entity is not None:
        _cdf(wait, entity, COALESCE_WAIT, "AudioChunk → its append, HA entity")
    wait.set(title="Coalescing wait per chunk (10 ms input)", xlabel="ms")
    wait.set_xlim(left=0)
    for name, label in (
        ("streaming", "streaming"),
        ("streaming_far_region", "streaming, slow setup"),
        ("buffered", "buffered baseline"),
    ):
        if name in phases:
            _cdf(total, phases[name], STOP_TO_TRANSCRIPT, label)
    total.set(title="AudioStop → Transcript", xlabel="ms", ylabel="fraction of requests")
    total.set_xscale("log")
    _finish(fig, (hops, wait, total), path)


def _cpu_series(results: dict[str, Any]) -> dict[str, list[float]]:
    phases = results["phases"]
    entity = results.get("ha_entity", {}).get("phases", {})

    def get(source: dict[str, Any], name: str) -> float:
        phase = source.get(name)
        return float(phase["cpu_s_per_audio_s"] or 0) if phase else 0.0

    return {
        "server floor": [get(phases, f"floor_{c}ms") for c in CHUNK_SIZES],
        "server": [get(phases, "streaming" if c == 10 else f"server_{c}ms") for c in CHUNK_SIZES],
        "HA floor": [get(entity, f"floor_{c}ms") for c in CHUNK_SIZES],
        "HA entity": [get(entity, f"entity_{c}ms") for c in CHUNK_SIZES],
    }


def _ratios(series: dict[str, list[float]], path: str, floor: str) -> list[float]:
    return [a / b if b else 0.0 for a, b in zip(series[path], series[floor], strict=True)]


def plot_resources(results: dict[str, Any], path: Path, baseline: dict[str, Any] | None) -> None:
    fig, (cpu, ratio) = plt.subplots(1, 2, figsize=(13, 4.5))
    series = _cpu_series(results)
    labels = [f"{c} ms" for c in CHUNK_SIZES]
    x = range(len(CHUNK_SIZES))
    width = 0.2
    for i, (name, values) in enumerate(series.items()):
        cpu.bar([j + (i - 1.5) * width for j in x], values, width, label=name)
    cpu.set_xticks(list(x), labels)
    cpu.set(
        title="CPU per audio second per stream (10 streams)",
        xlabel="input chunk size",
        ylabel="CPU-s / audio-s",
    )
    runs = [("now", series)]
    if baseline is not None:
        runs.insert(0, ("before", _cpu_series(baseline)))
    for label, run in runs:
        style = "--" if label == "before" else "-"
        for name, floor, marker in (
            ("server", "server floor", "o"),
            ("HA entity", "HA floor", "s"),
        ):
            if any(run[floor]):
                ratio.plot(
                    labels,
                    _ratios(run, name, floor),
                    style,
                    marker=marker,
                    label=f"{name}, {label}",
                )
    ratio.axhline(1.5, color="red", linestyle=":", label="target at 10 ms: 1.5x")
    ratio.axhline(2.0, color="orange", linestyle=":", label="target at 100 ms: 2x")
    ratio.set(title="CPU relative to the floor", xlabel="input chunk size", ylabel="x floor")
    ratio.set_ylim(bottom=0)
    _finish(fig, (cpu, ratio), path)


def plot_quarter_core(results: dict[str, Any], path: Path) -> None:
    rows = sorted(
        (p for p in results["phases"].values() if p["quarter_core"]),
        key=lambda p: p["concurrency"],
    )
    fig, (total, hops) = plt.subplots(1, 2, figsize=(12, 4.5))
    for phase in rows:
        n = phase["concurrency"]
        label = f"{n} stream{'s' if n > 1 else ''}"
        _cdf(total, phase, STOP_TO_TRANSCRIPT, label)
        _cdf(hops, phase, APPEND_FORWARD, label)
    total.axvline(20, color="red", linestyle="--", label="target p95 at 10 streams: 20 ms")
    total.set(title="Quarter core: AudioStop → Transcript", xlabel="ms", ylabel="fraction")
    total.set_xlim(left=0)
    hops.set(title="Quarter core: AudioChunk completing an append → append", xlabel="ms")
    hops.set_xlim(left=0)
    _finish(fig, (total, hops), path)


def write_plots(results: dict[str, Any], out: Path, baseline: dict[str, Any] | None) -> None:
    if "streaming" in results["phases"]:
        plot_latency(results, out / LATENCY_PLOT)
    plot_resources(results, out / RESOURCES_PLOT, baseline)
    if any(p["quarter_core"] for p in results["phases"].values()):
        plot_quarter_core(results, out / QUARTER_PLOT)
