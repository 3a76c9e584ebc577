"""Live text from Qwen's partials: when the first TranscriptChunk comes, and whether it holds.

    python tests/benchmarks/live_text_bench.py [--runs N]

One Home Assistant-style Wyoming request per run: the bundled kitchen command
(tests/fixtures/turn_on_kitchen_lights.wav, 2.7 s, speech from 0.3 s to about 1.8 s)
streamed in real time in 10 ms chunks, then AudioStop. Against each emulator profile
(observed: stash-only partials revised between events; documented: a frozen ``text`` and a
tentative ``stash``), with the chunk rule before this change (the ``text`` field only), a
naive rule (every word followed by another) and now (the words that stopped changing,
qwen_asr_realtime.stable), it prints:
- the first TranscriptChunk's time from the first audio chunk (the person still speaks
  until about 1.8 s);
- how many characters were sent in chunks that the final Transcript contradicts (the part
  of the chunks' text that is not a prefix of the transcript; target 0).
Prints only; timing targets are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

from bench_wyoming_client import HA_CHUNK_BYTES, read_pcm  # noqa: E402
from qwen_asr_realtime import Partial, VadConfig  # noqa: E402
from wyoming.asr import Transcribe, Transcript, TranscriptChunk  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402

from wyoming_server.addresses import ListenAddress  # noqa: E402
from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer  # noqa: E402
from wyoming_server.emulator.behaviour import PROFILES  # noqa: E402
from wyoming_server.server import QwenAsrServer  # noqa: E402
from wyoming_server.settings import ServerSettings  # noqa: E402

FIXTURE = HERE.parent / "fixtures" / "turn_on_kitchen_lights.wav"
SCRIPT = "turn on the kitchen lights"
KEY = "bench-key"


def contradicted_chars(sent: str, transcript: str) -> int:
    """Characters of ``sent`` after its longest common prefix with ``transcript``."""
    common = 0
    for a, b in zip(sent, transcript, strict=False):
        if a != b:
            break
        common += 1
    return len(sent) - common


def _followed_words(partial: Partial) -> str:
    """Every word of the preview that another word follows (no second look)."""
    preview = partial.preview.rstrip()
    return preview.rsplit(" ", 1)[0] if " " in preview else ""


# Chunk rules to compare: name -> replacement of StableText.update (None: the real one).
RULES: dict[str, Callable[[object, Partial], str] | None] = {
    "before: text field only": lambda _self, partial: partial.text.rstrip(),
    "naive: followed words  ": lambda _self, partial: _followed_words(partial),
    "now: words that stopped": None,
}


@contextmanager
def chunk_rule(name: str) -> Iterator[None]:
    """Use the chunk rule ``name`` in the Wyoming server's ChunkStream."""
    rule = RULES[name]
    if rule is None:
        yield
        return
    with mock.patch("wyoming_server.request.StableText.update", rule):
        yield


async def one_request(port: int, pcm: bytes) -> tuple[float | None, str, str]:
    """(first chunk's time from the first audio, the chunks joined, the transcript)."""
    chunks: list[str] = []
    first: float | None = None
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def read() -> str:
            nonlocal first
            while (event := await client.read_event()) is not None:
                if TranscriptChunk.is_type(event.type):
                    first = loop.time() - start if first is None else first
                    chunks.append(TranscriptChunk.from_event(event).text)
                elif Transcript.is_type(event.type):
                    return Transcript.from_event(event).text
            return "(closed)"

        reader = asyncio.create_task(read())
        for index, offset in enumerate(range(0, len(pcm), HA_CHUNK_BYTES)):
            chunk = pcm[offset : offset + HA_CHUNK_BYTES]
            await client.write_event(AudioChunk(16000, 2, 1, chunk).event())
            await asyncio.sleep(max(start + (index + 1) * 0.01 - loop.time(), 0))
        await client.write_event(AudioStop().event())
        async with asyncio.timeout(30):
            transcript = await reader
    return first, "".join(chunks), transcript


async def measure(profile: str, *, rule: str, runs: int, pcm: bytes) -> str:
    """Run ``runs`` requests against one profile with one chunk rule; return the result line."""
    async with QwenEmulator(
        api_keys=frozenset({KEY}),
        recognizer_factory=ScriptedRecognizer([SCRIPT]),
        behaviour=Behaviour.profile(profile),  # type: ignore[arg-type]
    ) as emulator:
        settings = ServerSettings(api_key=KEY, endpoint=emulator.url, vad=VadConfig(0.2, 800))
        server = QwenAsrServer(settings)
        await server.start(ListenAddress("tcp", host="127.0.0.1", port=0))
        try:
            firsts: list[float] = []
            contradicted = 0
            with chunk_rule(rule):
                for _ in range(runs):
                    first, sent, transcript = await one_request(server.bound_port, pcm)
                    firsts.append(first if first is not None else float("nan"))
                    contradicted += contradicted_chars(sent.strip(), transcript)
        finally:
            await server.stop(grace=2.0)
    first_text = f"{statistics.median(firsts):5.2f} s" if firsts else "  -  "
    return f"first chunk {first_text} (median)  contradicted chars {contradicted}"


async def main(argv: list[str] | None = None) -> int:
    """Print the first-chunk time and the contradicted characters of every profile and rule."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    pcm = read_pcm(FIXTURE)
    print(f"{FIXTURE.name}: 2.7 s, speech ends at about 1.8 s; {args.runs} run(s) per row")
    for profile in PROFILES:
        for rule in RULES:
            result = await measure(profile, rule=rule, runs=args.runs, pcm=pcm)
            print(f"  {profile:<10} {rule}  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
