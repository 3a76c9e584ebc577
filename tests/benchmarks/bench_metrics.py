"""Turning client and emulator timestamps into the issue's latency and traffic measures."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bench_load import BYTES_PER_MS, RequestTiming
from bench_probe import Probe, SessionTimes

# Latency measures, in milliseconds, per request (forward and wait measures: per chunk).
STOP_TO_FINISH = "stop_to_finish_ms"  # client AudioStop -> emulator session.finish/commit
FINAL_TO_TRANSCRIPT = "final_to_transcript_ms"  # emulator completed -> client Transcript
# The AudioChunk that completes an append -> the emulator receives that append: the hop.
APPEND_FORWARD = "append_forward_ms"
# Every AudioChunk -> the emulator receives the append carrying it: the hop plus the time
# the chunk waited for the rest of its append (coalescing); at most the window plus the hop.
COALESCE_WAIT = "coalesce_wait_ms"
# The AudioChunk that completes the silence Qwen's VAD needs -> its speech_stopped (only
# utterances that Qwen ended before AudioStop): what coalescing adds to Qwen endpointing.
VAD_STOP_WAIT = "vad_stop_wait_ms"
STOP_TO_TRANSCRIPT = "stop_to_transcript_ms"  # what the user waits for after speaking
# Per request, from the client's first event: the Transcript, the first text; and the
# real-time factor (total time / audio length): what a client sending a file waits for.
TOTAL = "total_ms"
FIRST_TEXT = "first_text_ms"
RTF = "real_time_factor"
LABELS = {
    STOP_TO_FINISH: "AudioStop → session.finish",
    FINAL_TO_TRANSCRIPT: "completed → Transcript",
    APPEND_FORWARD: "AudioChunk completing an append → append",
    COALESCE_WAIT: "any AudioChunk → the append carrying it",
    VAD_STOP_WAIT: "AudioChunk completing the silence → speech_stopped",
    STOP_TO_TRANSCRIPT: "AudioStop → Transcript",
    TOTAL: "Transcribe → Transcript",
    FIRST_TEXT: "Transcribe → first text",
    RTF: "real-time factor",
}
STORED_SAMPLES = 500  # per measure and phase in results.json (per-chunk ones are thinned)
MEASURES = (
    STOP_TO_FINISH,
    FINAL_TO_TRANSCRIPT,
    APPEND_FORWARD,
    COALESCE_WAIT,
    VAD_STOP_WAIT,
    STOP_TO_TRANSCRIPT,
    TOTAL,
    FIRST_TEXT,
    RTF,
)


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
    answered: int = 0  # requests that got their Transcript
    held_chunks: int = 0  # sent before session.updated: held by design while connecting
    appends_before_stop: int = 0  # streaming sends audio during speech; buffered must not
    completed_before_stop: int = 0  # Qwen's VAD ended the utterance first
    upstream_messages: int = 0  # every client -> Qwen message
    audio_sent_s: float = 0.0  # audio the Wyoming clients sent
    audio_lost_ms: float = 0.0  # sent before AudioStop but never reached Qwen
    manual_sessions: int = 0  # sent as a recording (manual mode), not as a live stream

    @property
    def messages_per_audio_s(self) -> float | None:
        """Upstream messages per second of one real-time stream."""
        return self.upstream_messages / self.audio_sent_s if self.audio_sent_s else None

    def summaries(self) -> dict[str, dict[str, float | int | None]]:
        return {name: summary(values) for name, values in self.samples.items()}

    def to_json(self) -> dict[str, Any]:
        rate = self.messages_per_audio_s
        return {
            "errors": self.errors,
            "answered": self.answered,
            "held_chunks": self.held_chunks,
            "appends_before_stop": self.appends_before_stop,
            "completed_before_stop": self.completed_before_stop,
            "upstream_messages": self.upstream_messages,
            "messages_per_audio_s": None if rate is None else round(rate, 2),
            "audio_lost_ms": round(self.audio_lost_ms, 1),
            "manual_sessions": self.manual_sessions,
            "summary": self.summaries(),
            "samples": {k: thin(vs) for k, vs in self.samples.items()},
        }


def thin(values: list[float]) -> list[float]:
    """At most STORED_SAMPLES values, evenly spread, for plots (summaries use all of them)."""
    step = max(1, math.ceil(len(values) / STORED_SAMPLES))
    return [round(v, 3) for v in values[::step]]


def _ms(later: float, earlier: float) -> float:
    return (later - earlier) * 1000


def collect(
    timings: list[RequestTiming], probe: Probe, *, vad_silence_ms: int | None = None
) -> PhaseSamples:
    """``vad_silence_ms``: the VAD's silence, to find the chunk that completed it."""
    out = PhaseSamples()
    for timing in timings:
        seen = probe.by_tag.get(timing.tag)
        if timing.error or seen is None:
            out.errors.append(f"{timing.tag}: {timing.error or 'no emulator session'}")
            continue
        out.answered += timing.transcript_at is not None
        out.manual_sessions += seen.record.config.turn_detection is None
        out.upstream_messages += seen.messages
        out.audio_sent_s += len(timing.chunk_sent) * timing.chunk_bytes / BYTES_PER_MS / 1000
        _stop_measures(out, timing, seen)
        _total_measures(out, timing)
        _forward_measures(out, timing, seen)
        if vad_silence_ms is not None:
            _vad_stop_measures(out, timing, seen, vad_silence_ms)
    return out


def _stop_measures(out: PhaseSamples, timing: RequestTiming, seen: SessionTimes) -> None:
    stop = timing.stop_sent
    if stop is None:  # answered before the audio ended (Qwen endpointing)
        out.completed_before_stop += 1
        if seen.completed_sent and timing.transcript_at is not None:
            out.samples[FINAL_TO_TRANSCRIPT].append(
                _ms(timing.transcript_at, seen.completed_sent[0])
            )
        return
    out.appends_before_stop += sum(1 for at in seen.appends.values() if at < stop)
    out.audio_lost_ms += max(0, timing.audio_bytes - seen.audio_bytes) / BYTES_PER_MS
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


def _total_measures(out: PhaseSamples, timing: RequestTiming) -> None:
    if timing.transcript_at is None:
        return
    total = _ms(timing.transcript_at, timing.started)
    out.samples[TOTAL].append(total)
    out.samples[RTF].append(total / 1000 / timing.audio_s)
    if timing.first_text_at is not None:
        out.samples[FIRST_TEXT].append(_ms(timing.first_text_at, timing.started))


def _forward_measures(out: PhaseSamples, timing: RequestTiming, seen: SessionTimes) -> None:
    """Map each chunk to the append that carries its last byte (offsets map 1:1)."""
    size, sent = timing.chunk_bytes, timing.chunk_sent
    spans = seen.append_spans()
    stop = timing.stop_sent
    span = 0
    for index, sent_at in enumerate(sent):
        last_byte = min((index + 1) * size, timing.audio_bytes) - 1
        while span < len(spans) and spans[span][1] <= last_byte:
            span += 1
        if span == len(spans):
            return  # not received: the session ended early (or audio was lost)
        _, end, received = spans[span]
        if seen.updated_sent is None or sent_at < seen.updated_sent:
            out.held_chunks += 1
            continue
        if stop is not None and received >= stop and end > last_byte + 1:
            continue  # flushed at AudioStop, not while streaming: counted in stop_to_finish
        out.samples[COALESCE_WAIT].append(_ms(received, sent_at))
        if last_byte + 1 == end:
            out.samples[APPEND_FORWARD].append(_ms(received, sent_at))


def _vad_stop_measures(
    out: PhaseSamples, timing: RequestTiming, seen: SessionTimes, silence_ms: int
) -> None:
    for stopped_at, audio_end_ms in seen.stopped_sent:
        if timing.stop_sent is not None and stopped_at >= timing.stop_sent:
            continue  # ended by session.finish, not by the VAD
        trigger_byte = (audio_end_ms + silence_ms) * BYTES_PER_MS - 1
        index = trigger_byte // timing.chunk_bytes
        if index < len(timing.chunk_sent):
            out.samples[VAD_STOP_WAIT].append(_ms(stopped_at, timing.chunk_sent[index]))
