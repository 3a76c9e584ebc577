"""Memory and a neighbour's latency while one client floods the server (issue 28's attacks).

    python tests/benchmarks/abuse_bench.py [--seconds 5] [--only TEXT]

For each attack (``--only``: those whose name holds TEXT), ``wyoming-qwen-asr`` runs as its
own process in front of the emulator (in this process), on loopback. After one ordinary
request (the baseline), one client floods (31 at once for the fallback's copies) for
``--seconds`` while a neighbour sends an ordinary request. Printed per attack: the
server's peak resident memory above the baseline (``VmHWM``), its memory after the flood,
what the flood got in, the neighbour's time from AudioStop to its Transcript and its text,
and for the budget flood what the budget counted against what reached the emulator.
Prints only; the abuse tests (tests/abuse) assert the bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:  # the repository: wyoming_server, tests.support
    sys.path.insert(0, str(HERE.parents[1]))

from tests.support.abuse.bounds_helpers import (  # noqa: E402
    MIB,
    Answer,
    EmptyCapture,
    Flood,
    ServerProcess,
    flooding,
    free_port,
    loop_to,
    neighbour,
    start_server,
    write_key_file,
)
from wyoming_server.audio_budget import read_usage, utc_today  # noqa: E402
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: E402

FIXTURE = HERE.parent / "fixtures" / "what_time_is_it.wav"
TEXT = "what time is it"
BUDGET_S = 3.0


@dataclass
class Outcome:
    """One attack's numbers."""

    attack: str
    peak_growth: int
    after_growth: int
    sent: int
    neighbour_ms: float | None
    neighbour_text: str | None
    note: str = ""


@dataclass
class Attack:
    """One attack: the server's flags and the flood's arguments."""

    name: str
    flags: tuple[str, ...]
    flood: dict[str, object]
    mic: bool = False
    budget: bool = False
    connections: int = 1  # floods at once, from one address
    # False: memory only. From the floods' address and with the fallback never answering, a
    # neighbour would be refused (the address's share of sessions) and wait for nothing.
    neighbour: bool = True


def _pcm() -> bytes:
    with wave.open(str(FIXTURE), "rb") as wav:
        return wav.readframes(wav.getnframes())


def attacks(pcm: bytes, state: Path, silent: int) -> list[Attack]:
    """Return issue 28's floods, in the order printed (``silent``: a fallback's port)."""
    header = json.dumps({"type": "describe", "payload_length": 700 * MIB}).encode() + b"\n"
    return [
        Attack("audio flood (VAD mode, default flags)", (), {"payload": loop_to(pcm, 32000)}),
        Attack("silent flood (paced in VAD mode)", (), {"payload": bytes(32000)}),
        Attack(
            "fallback, AudioStart 384 kHz x 4 B x 32 ch",
            ("--fallback-uri", f"tcp://127.0.0.1:{free_port()}"),
            {"payload": loop_to(pcm, MIB), "rate": 384_000, "width": 4, "channels": 32},
        ),
        # The fallback listens and never answers: every request, refused by the gate or not,
        # keeps its copy for it while the floods last (31: the neighbour is the 32nd).
        Attack(
            "fallback copies, 31 connections (default bound)",
            ("--fallback-uri", f"tcp://127.0.0.1:{silent}"),
            {"payload": loop_to(pcm, 32000)},
            connections=31,
            neighbour=False,
        ),
        Attack(
            "fallback copies, 31 connections (--fallback-max-held-seconds 86400)",
            ("--fallback-uri", f"tcp://127.0.0.1:{silent}", "--fallback-max-held-seconds", "86400"),
            {"payload": loop_to(pcm, 32000)},
            connections=31,
            neighbour=False,
        ),
        Attack(
            "mic service, 700 MiB payload header",
            (),
            {"payload": b"", "opening": [], "preamble": header, "raw": bytes(MIB)},
            mic=True,
        ),
        Attack(
            f"budget flood (--daily-audio-minutes {BUDGET_S / 60:g})",
            ("--daily-audio-minutes", f"{BUDGET_S / 60:g}", "--state-file", str(state)),
            {"payload": loop_to(pcm, 32000)},
            budget=True,
        ),
    ]


async def _upstream(emulator: QwenEmulator, since: int, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not any(r.audio_bytes for r in emulator.sessions[since:]):
                await asyncio.sleep(0.02)


async def run_attack(
    attack: Attack,
    emulator: QwenEmulator,
    start: Callable[..., Awaitable[ServerProcess]],
    pcm: bytes,
    seconds: float,
    state: Path,
) -> Outcome:
    """Start a server, take its baseline, flood it with a neighbour's request meanwhile."""
    capture = EmptyCapture(Path(tempfile.mkdtemp(prefix="abusebench"))) if attack.mic else None
    server = await start(*attack.flags, mic_device=capture.device if capture else None)
    try:
        await neighbour(server.port, pcm)
        baseline = server.rss
        since = len(emulator.sessions)
        port = server.mic_port if attack.mic else server.port
        assert port is not None
        async with contextlib.AsyncExitStack() as stack:
            tasks = [
                await stack.enter_async_context(flooding(port, seconds, **attack.flood))  # type: ignore[arg-type]
                for _ in range(attack.connections)
            ]
            if not attack.mic:
                await _upstream(emulator, since, seconds)
            answer: Answer | None = None
            if attack.neighbour:
                answer = await neighbour(server.port, pcm)
        flood: Flood = tasks[0].result()
        sent = sum(task.result().sent_bytes for task in tasks)
        note = f"error {flood.error.code}" if flood.error else ""
        if answer is None:
            note += "; no neighbour"
        elif answer.error is not None:
            note += f"; the neighbour got {answer.error.code}"
        if attack.budget:
            # Saved when the flood's request ends (the baseline request's count comes first).
            counted: float | None = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    while (counted := read_usage(state, utc_today()) or 0.0) < BUDGET_S:
                        await asyncio.sleep(0.05)
            reached = sum(r.audio_bytes for r in emulator.sessions[since - 1 :]) / 32000
            note += f"; budget counted {counted or 0:.1f} s, {reached:.1f} s reached Qwen"
        return Outcome(
            attack.name,
            server.peak - baseline,
            server.rss - baseline,
            sent,
            answer.seconds * 1000 if answer is not None and answer.text is not None else None,
            answer.text if answer is not None else None,
            note.strip("; "),
        )
    finally:
        await server.stop()
        if capture is not None:
            capture.close()


async def main(seconds: float = 5.0, only: str = "") -> list[Outcome]:
    """Run every attack (whose name holds ``only``) for ``seconds``; print its row."""
    logging.basicConfig(level=logging.ERROR)
    pcm = _pcm()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="abusebench") as folder:
        directory = Path(folder)
        key_file = write_key_file(directory)
        state = directory / "audio-usage.json"
        async with QwenEmulator(
            api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer([TEXT] * 99)
        ) as emulator:

            async def start(*flags: str, mic_device: str | None = None) -> ServerProcess:
                return await start_server(emulator.url, key_file, *flags, mic_device=mic_device)

            silent = await asyncio.start_server(_read_all, "127.0.0.1", 0)
            silent_port = silent.sockets[0].getsockname()[1]
            for attack in attacks(pcm, state, silent_port):
                if only not in attack.name:
                    continue
                outcome = await run_attack(attack, emulator, start, pcm, seconds, state)
                outcomes.append(outcome)
                _print(outcome)
    return outcomes


async def _read_all(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Be a fallback that takes every byte and never answers."""
    with contextlib.suppress(ConnectionError):
        while await reader.read(1 << 16):
            pass
    writer.close()


def _print(outcome: Outcome) -> None:
    latency = "-" if outcome.neighbour_ms is None else f"{outcome.neighbour_ms:.0f} ms"
    print(
        f"| {outcome.attack} | {outcome.peak_growth / MIB:+.1f} MiB | "
        f"{outcome.after_growth / MIB:+.1f} MiB | {outcome.sent / MIB:.0f} MiB | "
        f"{latency} ({outcome.neighbour_text!r}) | {outcome.note} |",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each flood's duration")
    parser.add_argument("--only", default="", help="run the attacks whose name holds this")
    arguments = parser.parse_args()
    print(
        "| attack | peak RSS growth | RSS growth after | flood got in | "
        "neighbour: AudioStop to Transcript | notes |\n|---|---|---|---|---|---|"
    )
    asyncio.run(main(arguments.seconds, arguments.only))
