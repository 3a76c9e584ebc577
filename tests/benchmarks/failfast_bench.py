"""How long a person waits when Qwen misbehaves: the Wyoming server against the emulator.

    python tests/benchmarks/failfast_bench.py

Prints, as HA sends requests (``Transcribe``, 10 ms AudioChunks, ``AudioStop``):
- AudioStop -> Error for a service that goes silent after ``session.finish``, before
  (only the 20 s finish timeout) and after the liveness watchdog (3 s of silence);
- AudioStop -> Transcript when the first N connections are refused for a rate limit
  (the default retry: 0.25, 0.5, 1, 2 s, with jitter) and the Error when it outlasts them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

from bench_wyoming_client import read_pcm, timed_request  # noqa: E402
from qwen_asr_realtime import Timeouts, VadConfig  # noqa: E402

from wyoming_server.addresses import ListenAddress  # noqa: E402
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: E402
from wyoming_server.server import QwenAsrServer  # noqa: E402
from wyoming_server.settings import ServerSettings  # noqa: E402

FIXTURE = HERE.parent / "fixtures" / "what_time_is_it.wav"
KEY = "bench-key"


async def _measure(
    emulator: QwenEmulator, settings: ServerSettings, pcm: bytes
) -> tuple[str, float]:
    server = QwenAsrServer(settings)
    await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
    try:
        return await timed_request(server.bound_port, pcm, real_time=False)
    finally:
        await server.stop(grace=2.0)


async def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    pcm = read_pcm(FIXTURE)
    async with QwenEmulator(
        api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer(["What time is it?"])
    ) as emulator:
        base = ServerSettings(api_key=KEY, endpoint=emulator.url, vad=VadConfig(0.0, 400))
        print("Stalled service (no event after session.finish): AudioStop -> Error")
        emulator.faults.stall_on = "session.finish"
        for label, timeouts in (
            ("before: 20 s finish timeout only", Timeouts(finish_silence=None)),
            ("after: + 3 s silence watchdog   ", Timeouts()),
        ):
            settings = dataclasses.replace(base, timeouts=timeouts)
            outcome, seconds = await _measure(emulator, settings, pcm)
            print(f"  {label}  {outcome:<14} {seconds:6.2f} s")
        emulator.faults.reset()

        print("Rate limit at connect ('connections too much'): AudioStop -> answer")
        for refused in (0, 1, 2, 3, 4, 5):
            emulator.faults.rate_limit = "connections"
            emulator.faults.rate_limit_sessions = refused
            outcome, seconds = await _measure(emulator, base, pcm)
            print(f"  {refused} refused connection(s)  {outcome:<18} {seconds:6.2f} s")
        emulator.faults.reset()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
