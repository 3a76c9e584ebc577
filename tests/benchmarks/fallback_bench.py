"""How long the answer takes when Qwen fails and ``--fallback-uri`` answers instead.

    python tests/benchmarks/fallback_bench.py [RUNS]

HA-style requests (``Transcribe``, 10 ms AudioChunks at real time, ``AudioStop``) to a
server whose fallback is a second wyoming-qwen-asr (manual mode) in front of its own
emulator, all in this process. Prints the median time from AudioStop to the Transcript:
- the fallback alone (its own time), the baseline of every target;
- Qwen refusing connections (target: <= own time + 50 ms);
- Qwen dropping the connection after 1 s of audio (target: <= own time + 100 ms);
- Qwen stalling after ``session.finish`` (target: <= 3 s stall timeout + own time);
and whether no audio was lost: each answer equals the fallback's own transcript of the
whole recording ("utterance 1 of N seconds" counts what it heard).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

from bench_wyoming_client import read_pcm, timed_request  # noqa: E402
from qwen_asr_realtime import CircuitBreaker, Timeouts, VadConfig  # noqa: E402

from wyoming_server.addresses import ListenAddress  # noqa: E402
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: E402
from wyoming_server.fallback import FallbackEngine  # noqa: E402
from wyoming_server.server import QwenAsrServer  # noqa: E402
from wyoming_server.settings import ServerSettings  # noqa: E402

FIXTURE = HERE.parent / "fixtures" / "turn_on_kitchen_lights.wav"
KEY = "bench-key"
STALL_TIMEOUT_S = 3.0  # the server's default --stall-timeout


async def _serve(settings: ServerSettings) -> QwenAsrServer:
    server = QwenAsrServer(settings)
    await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
    return server


async def main(runs: int) -> int:
    logging.basicConfig(level=logging.ERROR)
    pcm = read_pcm(FIXTURE)
    async with (
        QwenEmulator(api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer()) as other,
        QwenEmulator(
            api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer(["qwen"] * 9)
        ) as qwen,
    ):
        # Every request comes from 127.0.0.1: no per-client opening rate limit.
        fallback = await _serve(
            ServerSettings(api_key=KEY, endpoint=other.url, vad=None, max_sessions_per_minute=None)
        )
        engine = FallbackEngine("127.0.0.1", fallback.bound_port, breaker=CircuitBreaker(0.0))
        base = ServerSettings(
            api_key=KEY,
            endpoint=qwen.url,
            vad=VadConfig(0.0, 400),
            timeouts=Timeouts(finish_silence=STALL_TIMEOUT_S),
            fallback=engine,
            max_sessions_per_minute=None,
        )
        refused = dataclasses.replace(base, endpoint="ws://127.0.0.1:9/api-ws/v1/realtime")
        cases = {
            "fallback alone (own time)": (fallback.bound_port, None),
            "Qwen refusing connections": (None, refused),
            "Qwen dropped after 1 s": ("drop_after_audio_ms", base),
            "Qwen stalled after finish": ("stall_on", base),
        }
        medians: dict[str, float] = {}
        expected = ""
        print(f"AudioStop -> Transcript, median of {runs} runs (real-time 10 ms chunks)")
        for label, (what, settings) in cases.items():
            qwen.faults.reset()
            if what == "drop_after_audio_ms":
                qwen.faults.drop_after_audio_ms = 1000
            elif what == "stall_on":
                qwen.faults.stall_on = "session.finish"
            server = await _serve(settings) if settings is not None else None
            port = server.bound_port if server is not None else int(what or 0)
            results = [await timed_request(port, pcm, real_time=True) for _ in range(runs)]
            if server is not None:
                await server.stop(grace=2.0)
            texts = {text for text, _ in results}
            expected = expected or next(iter(texts))
            medians[label] = statistics.median(seconds for _, seconds in results) * 1000
            lost = "no audio lost" if texts == {expected} else f"DIFFERENT: {sorted(texts)}"
            print(f"  {label:<28} {medians[label]:8.1f} ms  {lost}")
        own = medians["fallback alone (own time)"]
        for label, allowed in (
            ("Qwen refusing connections", own + 50),
            ("Qwen dropped after 1 s", own + 100),
            ("Qwen stalled after finish", STALL_TIMEOUT_S * 1000 + own),
        ):
            verdict = "met" if medians[label] <= allowed else "MISSED"
            print(f"  target {label:<28} <= {allowed:8.1f} ms: {verdict}")
        print(f"  the fallback's transcript: {expected!r}")
        await fallback.stop(grace=2.0)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
