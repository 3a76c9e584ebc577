"""Turning client and emulator timestamps into the issue's latency measures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench_load import CHUNK_BYTES, RequestTiming
from bench_probe import Probe

# Latency measures, in milliseconds, per request (chunk_forward: per chunk).
STOP_TO_FINISH = "stop_to_finish_ms"  # client AudioStop -> emulator session.finish/commit
FINAL_TO_TRANSCRIPT = "final_to_transcript_ms"  # emulator completed -> client Transcript
CHUNK_FORWARD = "chunk_forward_ms"  # client AudioChunk -> emulator append of that audio
STOP_TO_TRANSCRIPT = "stop_to_transcript_ms"  # what the user waits for after speaking
MEASURES = (STOP_TO_FINISH, FINAL_TO_TRANSCRIPT, CHUNK_FORWARD, STOP_TO_TRANSCRIPT)


def summary(values: list[float]) -> dict[str, float | int | None]:
    """p50/p95 by nearest rank, max, n."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), 3),
        "p95": round(rank(0.95), 3),
        "max": round(ordered[-1], 3),
    }


@dataclass
class PhaseSamples:
    samples: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in MEASURES})
    errors: list[str] = field(default_factory=list)
    held_chunks: int = 0  # sent before session.updated: held by design while connecting
    appends_before_stop: int = 0  # streaming sends audio during speech; buffered must not
    completed_before_stop: int = 0  # Qwen's VAD ended the utterance first (not measured)

    def summaries(self) -> dict[str, dict[str, float | int | None]]:
        return {name: summary(values) for name, values in self.samples.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "held_chunks": self.held_chunks,
            "appends_before_stop": self.appends_before_stop,
            "completed_before_stop": self.completed_before_stop,
            "summary": self.summaries(),
            "samples": {k: [round(v, 3) for v in vs] for k, vs in self.samples.items()},
        }


def _ms(later: float, earlier: float) -> float:
    return (later - earlier) * 1000


def collect(timings: list[RequestTiming], probe: Probe) -> PhaseSamples:
    out = PhaseSamples()
    for timing in timings:
        seen = probe.by_tag.get(timing.tag)
        if timing.error or seen is None or timing.stop_sent is None:
            out.errors.append(f"{timing.tag}: {timing.error or 'no emulator session'}")
            continue
        stop = timing.stop_sent
        out.appends_before_stop += sum(1 for at in seen.appends.values() if at < stop)
        if seen.finish_received is not None:
            out.samples[STOP_TO_FINISH].append(_ms(seen.finish_received, stop))
        if timing.transcript_at is not None:
            out.samples[STOP_TO_TRANSCRIPT].append(_ms(timing.transcript_at, stop))
            if seen.completed_sent and seen.completed_sent[-1] > stop:
                out.samples[FINAL_TO_TRANSCRIPT].append(
                    _ms(timing.transcript_at, seen.completed_sent[-1])
                )
            elif seen.completed_sent:
                out.completed_before_stop += 1
        if len(seen.appends) != len(timing.chunk_sent):
            continue  # buffered mode: one append carries all the audio
        for index, sent in enumerate(timing.chunk_sent):
            received = seen.appends.get(index * CHUNK_BYTES)
            if received is None:
                out.errors.append(f"{timing.tag}: chunk {index} not received at its offset")
                continue
            if seen.updated_sent is None or sent < seen.updated_sent:
                out.held_chunks += 1
                continue
            out.samples[CHUNK_FORWARD].append(_ms(received, sent))
    return out
