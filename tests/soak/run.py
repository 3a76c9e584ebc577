#!/usr/bin/env python3
"""Soak test: thousands of Wyoming transcriptions, one in ten with an injected fault.

    python tests/soak/run.py            # 2,000 sequential + 5 waves of 50 concurrent
    python tests/soak/run.py --quick    # 40 sequential + 1 wave of 10 (the smoke test)

The Wyoming server runs as its own process (``python -m wyoming_server``) so that its open
file descriptors and memory are its own; on SIGUSR1 it logs
``stats: connections=N tasks=N fds=N rss_kb=N``, read here before and after the soak.
It talks to two in-process Qwen emulators through a small TCP router: requests that name
the model ``FAULT_MODEL`` in their ``Transcribe`` reach the faulty emulator, all others the
clean one. The faulty emulator's fault is set before each faulty request (sequential) or
each wave (concurrent: every wave injects one kind of fault into 10% of its requests), so
every request has one known expected outcome:

    clean, slow events        -> Transcript "what time is it"
    dropped connection        -> Error connection-failed
    stall (no session.finished) -> Error timeout (after the server's --timeout)
    error event               -> Error service-error
    HTTP 401 at the handshake -> Error auth-failed

Passes (exit 0) when every request got its expected answer within its timeout, the key
never appears in the server's output, nothing crashed, and afterwards the server's fds
and asyncio tasks are back to their baseline and its RSS within 10% of it. Prints a
Markdown results table and writes it to tests/soak/results.md (``--results`` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.util
import os
import re
import signal
import socket
import sys
import time
import wave
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if importlib.util.find_spec("qwen_asr_realtime") is None:  # not pip-installed
    _client = REPO / "custom_components" / "qwen_asr" / "realtime"
    _spec = importlib.util.spec_from_file_location(
        "qwen_asr_realtime", _client / "__init__.py", submodule_search_locations=[str(_client)]
    )
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["qwen_asr_realtime"] = _module
    _spec.loader.exec_module(_module)

from qwen_asr_realtime.const import MODELS  # noqa: E402
from wyoming.asr import Transcribe, Transcript  # noqa: E402
from wyoming.audio import AudioChunk, AudioStart, AudioStop  # noqa: E402
from wyoming.error import Error  # noqa: E402
from wyoming.event import async_read_event, async_write_event  # noqa: E402

from wyoming_server.emulator import Faults, QwenEmulator, ScriptedRecognizer  # noqa: E402

HOST = "127.0.0.1"
API_KEY = "sk-soak-secret-key-0123456789"
CLIP = REPO / "tests" / "fixtures" / "what_time_is_it.wav"
EXPECTED_TEXT = "what time is it"
FAULT_MODEL = MODELS[1]  # any known model other than the default routes to the faulty emulator
SERVER_FINISH_TIMEOUT = 2.0  # the server's --timeout (the stall fault waits this long)
# A request must end within this: the server's longest wait (connect/setup 10 s) + margin.
REQUEST_TIMEOUT = 15.0
CHUNK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
STATS_RE = re.compile(r"stats: connections=(\d+) tasks=(\d+) fds=(\d+) rss_kb=(\d+)")


@dataclass(frozen=True)
class FaultKind:
    name: str
    description: str
    faults: Faults
    expected: str  # "transcript" or "error:<code>"


FAULT_KINDS = (
    FaultKind(
        "drop", "dropped connection", Faults(drop_after_audio_ms=300), "error:connection-failed"
    ),
    FaultKind(
        "stall", "stall (never finishes)", Faults(stall_on="session.finish"), "error:timeout"
    ),
    FaultKind("error", "error event", Faults(error_after_events=2), "error:service-error"),
    FaultKind("401", "HTTP 401", Faults(reject_status=401), "error:auth-failed"),
    FaultKind("slow", "slow events (50 ms each)", Faults(event_delay_seconds=0.05), "transcript"),
)


@dataclass
class Outcome:
    fault: str  # "" for a clean request
    expected: str
    got: str  # "transcript", "error:<code>", "closed", "timeout", "wrong-text:..."
    seconds: float

    @property
    def ok(self) -> bool:
        return self.got == self.expected


@dataclass
class Stats:
    connections: int
    tasks: int
    fds: int
    rss_kb: int


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)


# -- the router between the server and the two emulators ------------------------------


class Router:
    """TCP pass-through choosing the emulator from the ``model`` in the upgrade request."""

    def __init__(self, clean_port: int, faulty_port: int) -> None:
        self._clean, self._faulty = clean_port, faulty_port
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._route, HOST, 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _route(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_writer: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            port = self._faulty if f"model={FAULT_MODEL}".encode() in head else self._clean
            up_reader, up_writer = await asyncio.open_connection(HOST, port)
            up_writer.write(head)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            if up_writer is not None:
                up_writer.close()
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


# -- the server process -----------------------------------------------------------------


class ServerProcess:
    def __init__(self, upstream_port: int) -> None:
        self.port = _free_port()
        self._upstream = upstream_port
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._stats: asyncio.Queue[Stats] = asyncio.Queue()
        self._ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        env = {**os.environ, "QWEN_API_KEY": API_KEY, "PYTHONPATH": str(REPO)}
        for name in ("QWEN_API_KEY_FILE", "QWEN_ASR_DEBUG", "QWEN_ASR_LOG_FORMAT"):
            env.pop(name, None)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wyoming_server",
            "serve",
            "--uri",
            f"tcp://{HOST}:{self.port}",
            "--region",
            f"ws://{HOST}:{self._upstream}/api-ws/v1/realtime",
            "--timeout",
            str(SERVER_FINISH_TIMEOUT),
            "--vad-threshold",
            "0",
            "--vad-silence-ms",
            "200",
            # Waves of 50 at once: far above the household default of --max-sessions, and
            # all from one address: above the per-client fairness defaults too.
            "--max-sessions",
            "1000",
            "--max-sessions-per-client",
            "1000",
            "--max-sessions-per-minute",
            "1000000",
            "--max-connections",
            "4000",
            "--max-connections-per-client",
            "4000",
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_stderr())
        async with asyncio.timeout(30):
            await self._ready.wait()

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            self.lines.append(text)
            if "Ready: listening on" in text:
                self._ready.set()
            if match := STATS_RE.search(text):
                self._stats.put_nowait(Stats(*(int(value) for value in match.groups())))

    async def stats(self) -> Stats:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)
        async with asyncio.timeout(10):
            return await self._stats.get()

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(40):
            code = await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader, 5)
        return code


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- one Wyoming request ----------------------------------------------------------------


async def transcribe_once(port: int, pcm: bytes, kind: FaultKind | None) -> Outcome:
    expected = kind.expected if kind else "transcript"
    started = time.monotonic()
    got = "timeout"
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            reader, writer = await asyncio.open_connection(HOST, port)
            name = FAULT_MODEL if kind else None
            with contextlib.suppress(ConnectionError):  # a failed request closes early
                await async_write_event(Transcribe(language="en", name=name).event(), writer)
                await async_write_event(AudioStart(16000, 2, 1).event(), writer)
                for start in range(0, len(pcm), CHUNK_BYTES):
                    chunk = AudioChunk(16000, 2, 1, pcm[start : start + CHUNK_BYTES])
                    await async_write_event(chunk.event(), writer)
                await async_write_event(AudioStop().event(), writer)
            got = await _read_answer(reader)
    except TimeoutError:
        got = "timeout"
    except (ConnectionError, OSError) as err:
        got = f"socket-error:{type(err).__name__}"
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return Outcome(kind.name if kind else "", expected, got, time.monotonic() - started)


async def _read_answer(reader: asyncio.StreamReader) -> str:
    answer = "closed"
    while (event := await async_read_event(reader)) is not None:
        if Transcript.is_type(event.type):
            text = Transcript.from_event(event).text
            answer = "transcript" if text == EXPECTED_TEXT else f"wrong-text:{text!r}"
        elif event.type == "transcript-stop" and answer != "closed":
            return answer
        elif Error.is_type(event.type):
            return f"error:{Error.from_event(event).code}"
    return answer


# -- the soak -----------------------------------------------------------------------------


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def set_faults(emulator: QwenEmulator, kind: FaultKind) -> None:
    emulator.faults.reset()
    for spec in dataclasses.fields(Faults):
        setattr(emulator.faults, spec.name, getattr(kind.faults, spec.name))


async def run_sequential(
    port: int, pcm: bytes, faulty: QwenEmulator, count: int, progress: Callable[[str], None]
) -> Phase:
    phase = Phase("sequential")
    for index in range(count):
        kind = FAULT_KINDS[(index // 10) % len(FAULT_KINDS)] if index % 10 == 9 else None
        if kind is not None:
            set_faults(faulty, kind)
        phase.outcomes.append(await transcribe_once(port, pcm, kind))
        if (index + 1) % 250 == 0:
            progress(f"  sequential: {index + 1}/{count}")
    return phase


async def run_concurrent(
    port: int,
    pcm: bytes,
    faulty: QwenEmulator,
    width: int,
    waves: int,
    first_kind: int,
    progress: Callable[[str], None],
) -> Phase:
    phase = Phase("concurrent")
    first = first_kind % len(FAULT_KINDS)
    for wave_index in range(waves):
        kind = FAULT_KINDS[(first + wave_index) % len(FAULT_KINDS)]
        set_faults(faulty, kind)
        kinds = [kind if index % 10 == 9 else None for index in range(width)]
        phase.outcomes.extend(await asyncio.gather(*(transcribe_once(port, pcm, k) for k in kinds)))
        progress(f"  concurrent: wave {wave_index + 1}/{waves} ({kind.name})")
    return phase


async def settle(server: ServerProcess, baseline: Stats, seconds: float = 20.0) -> Stats:
    """Stats once the server is idle again (or after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        await asyncio.sleep(1.0)
        stats = await server.stats()
        idle = stats.connections == 0 and stats.tasks <= baseline.tasks
        if (idle and stats.fds <= baseline.fds) or time.monotonic() > deadline:
            return stats


async def soak(args: argparse.Namespace) -> int:
    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    pcm = read_pcm(CLIP)
    script = ScriptedRecognizer([EXPECTED_TEXT])
    clean = QwenEmulator(api_keys=frozenset({API_KEY}), recognizer_factory=script)
    faulty = QwenEmulator(api_keys=frozenset({API_KEY}), recognizer_factory=script)
    await clean.start()
    await faulty.start()
    router = Router(clean.port, faulty.port)
    server = ServerProcess(await router.start())
    started = time.monotonic()
    try:
        await server.start()
        progress(f"server pid {server.proc.pid if server.proc else '?'} on port {server.port}")
        # Warm up every code path once, and the peak of one concurrent wave, so that the
        # baseline includes what Python keeps cached and the allocator keeps after a peak.
        for kind in (None, *FAULT_KINDS, None):
            if kind is not None:
                set_faults(faulty, kind)
            await transcribe_once(server.port, pcm, kind)
        await asyncio.gather(
            *(transcribe_once(server.port, pcm, None) for _ in range(args.concurrent))
        )
        await asyncio.sleep(1.0)
        baseline = await settle(server, await server.stats(), 5.0)
        progress(f"baseline: {baseline}")
        phases = [await run_sequential(server.port, pcm, faulty, args.sequential, progress)]
        middle = await settle(server, baseline)
        progress(f"after the sequential requests: {middle}")
        phases.append(
            # Waves continue the rotation of fault kinds where the sequential phase stopped.
            await run_concurrent(
                server.port,
                pcm,
                faulty,
                args.concurrent,
                args.waves,
                args.sequential // 10,
                progress,
            )
        )
        after = await settle(server, baseline)
        progress(f"after: {after}")
    finally:
        exit_code = await server.stop()
        await router.stop()
        await faulty.stop()
        await clean.stop()
    elapsed = time.monotonic() - started
    sessions = len(clean.sessions) + len(faulty.sessions)
    unclosed = sum(r.closed_at is None for r in (*clean.sessions, *faulty.sessions))
    output = "\n".join(server.lines)
    problems = check(phases, baseline, after, output, exit_code, unclosed)
    table = render(
        args, phases, baseline, middle, after, elapsed, sessions, unclosed, exit_code, problems
    )
    print(table)
    if args.results is not None:
        args.results.write_text(table + "\n", encoding="utf-8")
        progress(f"results written to {args.results}")
    return 1 if problems else 0


def check(
    phases: list[Phase], baseline: Stats, after: Stats, output: str, exit_code: int, unclosed: int
) -> list[str]:
    problems = []
    for phase in phases:
        bad = Counter(
            f"{o.fault or 'clean'}: expected {o.expected}, got {o.got}"
            for o in phase.outcomes
            if not o.ok
        )
        problems += [f"{phase.name} {text} (x{n})" for text, n in bad.items()]
    if API_KEY in output:
        problems.append("the API key appeared in the server's output")
    if "Traceback" in output or "Unexpected error" in output:
        problems.append("the server logged an unexpected exception")
    if exit_code != 0:
        problems.append(f"the server exited with code {exit_code}")
    if unclosed:
        problems.append(f"{unclosed} Qwen session(s) never closed")
    if after.connections != 0:
        problems.append(f"{after.connections} connection(s) still open")
    if after.fds > baseline.fds:
        problems.append(f"open fds grew from {baseline.fds} to {after.fds}")
    if after.tasks > baseline.tasks:
        problems.append(f"asyncio tasks grew from {baseline.tasks} to {after.tasks}")
    if after.rss_kb > baseline.rss_kb * 1.10:
        problems.append(f"RSS grew more than 10%: {baseline.rss_kb} -> {after.rss_kb} kB")
    return problems


def render(
    args: argparse.Namespace,
    phases: list[Phase],
    baseline: Stats,
    middle: Stats,
    after: Stats,
    elapsed: float,
    sessions: int,
    unclosed: int,
    exit_code: int,
    problems: list[str],
) -> str:
    everything = [o for phase in phases for o in phase.outcomes]

    def column(outcomes: list[Outcome]) -> list[str]:
        return [
            str(len(outcomes)),
            str(sum(1 for o in outcomes if o.fault)),
            str(sum(1 for o in outcomes if o.got == "transcript")),
            str(sum(1 for o in outcomes if o.got.startswith("error:"))),
            str(sum(1 for o in outcomes if not o.ok)),
            f"{max((o.seconds for o in outcomes), default=0):.2f} s",
        ]

    seq, conc = phases
    rows = [
        "Requests",
        "With an injected fault",
        "Answered `Transcript`",
        "Answered `Error`",
        "Failures (wrong/no answer in time)",
        "Slowest request",
    ]
    cols = [column(seq.outcomes), column(conc.outcomes), column(everything)]
    lines = [
        f"Soak: {args.sequential} sequential requests, then {args.waves} wave(s) of "
        f"{args.concurrent} concurrent requests ({elapsed:.0f} s in all). "
        "Audio is a 2.1 s clip sent as fast as possible.",
        "",
        f"| | Sequential | Concurrent ({args.concurrent} at once) | Total |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {row} | {a} | {b} | {c} |" for row, a, b, c in zip(rows, *cols, strict=True)]
    lines += ["", "| Fault | Requests | Expected answer | As expected |", "|---|---:|---|---:|"]
    for kind in FAULT_KINDS:
        hit = [o for o in everything if o.fault == kind.name]
        good = sum(o.ok for o in hit)
        expected = (
            "`Transcript`"
            if kind.expected == "transcript"
            else (f"`Error` {kind.expected.split(':', 1)[1]}")
        )
        lines.append(f"| {kind.description} | {len(hit)} | {expected} | {good} |")
    lines += [
        "",
        "| Server process (idle) | Baseline | After sequential | After all | |",
        "|---|---:|---:|---:|---|",
        f"| Open file descriptors | {baseline.fds} | {middle.fds} | {after.fds} | "
        f"{'ok' if after.fds <= baseline.fds else 'LEAK'} |",
        f"| asyncio tasks | {baseline.tasks} | {middle.tasks} | {after.tasks} | "
        f"{'ok' if after.tasks <= baseline.tasks else 'LEAK'} |",
        f"| RSS | {baseline.rss_kb / 1024:.1f} MiB | {middle.rss_kb / 1024:.1f} MiB | "
        f"{after.rss_kb / 1024:.1f} MiB | {(after.rss_kb / baseline.rss_kb - 1) * 100:+.1f}% |",
        f"| Open connections | {baseline.connections} | {middle.connections} | "
        f"{after.connections} | |",
        "",
        "Baseline: after a warm-up of one request per fault kind and one concurrent wave.",
        "",
        f"Qwen sessions opened: {sessions}, left open: {unclosed}. "
        f"Server exit code after SIGTERM: {exit_code}. "
        f"Result: {'PASS' if not problems else 'FAIL'}.",
    ]
    lines += [f"- {problem}" for problem in problems]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 sequential + 1 wave of 10")
    parser.add_argument("--sequential", type=int, help="sequential requests (default 2000)")
    parser.add_argument("--concurrent", type=int, help="requests per concurrent wave (default 50)")
    parser.add_argument(
        "--waves", type=int, help="concurrent waves, one fault kind each (default 5)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="write the Markdown table here (default tests/soak/results.md; not with --quick)",
    )
    args = parser.parse_args(argv)
    quick = (40, 10, 1) if args.quick else (2000, 50, len(FAULT_KINDS))
    args.sequential = quick[0] if args.sequential is None else args.sequential
    args.concurrent = quick[1] if args.concurrent is None else args.concurrent
    args.waves = quick[2] if args.waves is None else args.waves
    if args.results is None and not args.quick:
        args.results = Path(__file__).resolve().parent / "results.md"
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(soak(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
