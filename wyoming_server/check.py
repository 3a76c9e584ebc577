"""``check``: send the bundled recordings through the user's service and report what it does.

With the user's key and region: times the connection's phases on a connection of its own
(TCP, TLS, WebSocket upgrade), then sends each bundled recording in real time in VAD mode
and in manual mode through the shared client, watching every event both ways. It prints
the timings, the transcripts, how the service's partials and VAD events look, whether it
closes after ``session.finished``, and every difference from the live service as observed
(check_profile.py). Exit status 0 when every recording was transcribed right.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from qwen_asr_realtime import (
    QwenConnectionError,
    QwenError,
    VadConfig,
    open_socket,
    resolve_endpoint,
)

from . import __version__
from .audio import TARGET_FORMAT
from .check_profile import (
    COMPLETED,
    PARTIAL,
    SPEECH_STOPPED,
    differences,
    partial_style,
    revisions,
    traits,
    vad_order,
)
from .check_trace import ConnectionTrace, Seen, TraceFile
from .qwen_client import new_client
from .settings import ServerSettings
from .wav import SAMPLES_DIR, WavAudio, WavError, read_wav

Mode = Literal["VAD", "manual"]
USER_AGENT = "wyoming-qwen-asr check"
# What the bundled recordings say (tests/fixtures/README.md says how they were made).
EXPECTED = {
    "turn_on_kitchen_lights.wav": "turn on the kitchen lights",
    "what_time_is_it.wav": "what time is it",
}
# How long to wait, after the first session's session.finished, for the service to close.
CLOSE_WAIT_SECONDS = 3.0
# Silence after a recording in VAD mode beyond the VAD's silence window, so that the
# service ends the utterance itself before session.finish.
TAIL_SILENCE_MS = 500


@dataclass(frozen=True, slots=True)
class ConnectTimes:
    """Seconds per phase of opening the WebSocket; ``tls`` None for ws://."""

    dns: float
    tcp: float
    tls: float | None
    upgrade: float


@dataclass(slots=True)
class SampleRun:
    """One recording through one session."""

    sample: str
    mode: Mode
    trace: ConnectionTrace
    transcript: str = ""
    error: str | None = None
    # Seconds from session.finished to the service's close; None: it did not close.
    closed_after: float | None = None

    @property
    def right(self) -> bool | None:
        """Say whether the transcript is the recording's (None: not known)."""
        expected = EXPECTED.get(self.sample)
        if expected is None or self.error is not None:
            return None if self.error is None else False
        return normalize(self.transcript) == expected


def normalize(text: str) -> str:
    """Return ``text`` lower case, without punctuation, words separated by single spaces."""
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(kept.lower().split())


async def run_check(settings: ServerSettings, *, trace_path: Path | None) -> int:
    """Run the check and print its report; return the exit status."""
    try:
        trace = TraceFile(trace_path, settings.api_key) if trace_path else None
    except OSError as err:
        print(f"check: cannot write --trace {trace_path}: {err.strerror}", file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        return await _check(settings, lambda: loop.time() - started, trace)
    finally:
        if trace is not None:
            trace.close()
            print(f"trace written to {trace_path}")


async def _check(
    settings: ServerSettings, clock: Callable[[], float], trace: TraceFile | None
) -> int:
    url = resolve_endpoint(settings.endpoint, allow_insecure=settings.allow_insecure)
    print(f"Checking {url} with model {settings.model}", flush=True)
    if trace is not None:
        started = {"utc": datetime.now(UTC).isoformat(timespec="seconds"), "version": __version__}
        about = {"type": "check.started", **started, "endpoint": url, "model": settings.model}
        trace.write(clock(), "check", "check", about)
    try:
        times = await measure_connect(settings, url, clock, trace)
    except QwenError as err:
        print(f"check: {err}", file=sys.stderr)
        return 1
    tls = "n/a" if times.tls is None else _ms(times.tls)
    print(
        f"connect: DNS {_ms(times.dns)}, TCP {_ms(times.tcp)}, TLS {tls}, "
        f"WebSocket upgrade {_ms(times.upgrade)}",
        flush=True,
    )
    try:
        samples = [(path, read_wav(path)) for path in sorted(SAMPLES_DIR.glob("*.wav"))]
    except WavError as err:  # pragma: no cover - the package's own files
        print(f"check: {err}", file=sys.stderr)
        return 1
    runs: list[SampleRun] = []
    for path, audio in samples:
        for mode in ("VAD", "manual"):
            run = await run_sample(
                settings,
                sample=path.name,
                audio=audio,
                mode=mode,
                clock=clock,
                trace_file=trace,
                wait_for_close=not runs,
            )
            runs.append(run)
            _print_run(run)
    return _summary(runs)


async def measure_connect(
    settings: ServerSettings, url: str, clock: Callable[[], float], trace: TraceFile | None
) -> ConnectTimes:
    """Open one connection in steps, timing each; raise QwenError saying why it failed."""
    parts = urlsplit(url)
    host, secure = parts.hostname or "", parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    timeout = settings.timeouts.connect
    loop = asyncio.get_running_loop()
    start = clock()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        resolved = clock()
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, TimeoutError) as err:
        raise QwenConnectionError(f"Cannot resolve {host}: {str(err) or 'timed out'}") from None
    try:
        sock.setblocking(False)
        async with asyncio.timeout(timeout):
            await loop.sock_connect(sock, address)
        connected = clock()
        observer = ConnectionTrace("connect", clock, trace)
        ws = await open_socket(
            url,
            settings.model,
            settings.api_key,
            timeouts=settings.timeouts,
            ssl_context=None,
            user_agent=USER_AGENT,
            observer=observer,
            sock=sock,
        )
    except (OSError, TimeoutError) as err:
        sock.close()
        reason = str(err) or "timed out"
        raise QwenConnectionError(f"Cannot connect to {host}:{port}: {reason}") from None
    except QwenError:
        sock.close()
        raise
    upgraded = clock()
    await ws.close()
    ready = observer.ready_at if observer.ready_at is not None else connected
    return ConnectTimes(
        dns=resolved - start,
        tcp=connected - resolved,
        tls=ready - connected if secure else None,
        upgrade=upgraded - ready,
    )


async def run_sample(
    settings: ServerSettings,
    *,
    sample: str,
    audio: WavAudio,
    mode: Mode,
    clock: Callable[[], float],
    trace_file: TraceFile | None,
    wait_for_close: bool,
) -> SampleRun:
    """Send one recording in real time through a session of its own and watch it."""
    run = SampleRun(sample, mode, ConnectionTrace(f"{sample} {mode}", clock, trace_file))
    config = settings.session_config(settings.language or "en")
    if mode == "manual":
        config = dataclasses.replace(config, vad=None)
    elif config.vad is None:  # --no-vad: the VAD run still needs the service's VAD
        config = dataclasses.replace(config, vad=VadConfig())
    client = new_client(settings, config, observer=run.trace)
    try:
        client.start()
        async for chunk in audio.stream(realtime=True):
            await client.send_audio(chunk)
        if config.vad is not None:
            silence_ms = config.vad.silence_duration_ms + TAIL_SILENCE_MS
            silence = WavAudio(
                TARGET_FORMAT, bytes(TARGET_FORMAT.bytes_per_second * silence_ms // 1000)
            )
            async for chunk in silence.stream(realtime=True):
                await client.send_audio(chunk)
        else:
            client.commit()
        await client.finish()
        run.transcript = client.results.transcript
        if wait_for_close:
            finished = clock()
            try:
                async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                    await run.trace.closed_event.wait()
                run.closed_after = clock() - finished
            except TimeoutError:
                pass
    except QwenError as err:
        run.error = str(err)
    finally:
        run.trace.note("client.close")
        await client.close()
    return run


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def _between(trace: ConnectionTrace, start: Seen | None, kind: str) -> float | None:
    """Return the seconds from ``start`` to the service's first event of ``kind``."""
    end = trace.first(kind)
    return None if start is None or end is None or end.t < start.t else end.t - start.t


def _print_run(run: SampleRun) -> None:
    trace = run.trace
    verdict = {True: "right", False: "WRONG", None: "not judged"}[run.right]
    if run.error is not None:
        print(f"{run.sample}, {run.mode} mode: error: {run.error}", flush=True)
        return
    expected = EXPECTED.get(run.sample)
    wrong = f" (expected {expected!r})" if run.right is False else ""
    print(f"{run.sample}, {run.mode} mode: {run.transcript!r} {verdict}{wrong}")
    if run.mode == "VAD":
        end = f"final {_ms(_between(trace, trace.first(SPEECH_STOPPED), COMPLETED))} after "
        end += "speech_stopped"
    else:
        commit = trace.first("input_audio_buffer.commit", "sent")
        end = f"final {_ms(_between(trace, commit, COMPLETED))} after commit"
    update = _between(trace, trace.first("session.update", "sent"), "session.updated")
    first_audio = trace.first("input_audio_buffer.append", "sent")
    first_partial = _between(trace, first_audio, PARTIAL)
    finished = _between(trace, trace.first("session.finish", "sent"), "session.finished")
    print(
        f"  session.update round trip {_ms(update)}; first partial {_ms(first_partial)} "
        f"after the first audio; {end}; session.finished {_ms(finished)} after session.finish",
        flush=True,
    )


def _summary(runs: list[SampleRun]) -> int:
    vad = [r.trace for r in runs if r.mode == "VAD" and r.error is None]
    manual = [r.trace for r in runs if r.mode == "manual" and r.error is None]
    every = [*vad, *manual]
    style = partial_style(every)
    count = sum(1 for t in every for e in t.received() if e.type == PARTIAL)
    print(f"partials: {style or 'none'}, {count} in all, {revisions(every)} revised")
    if vad:
        print(f"VAD events of an utterance: {vad_order(vad[0]) or 'no completed utterance'}")
    first = runs[0] if runs and runs[0].error is None else None
    closes: bool | None = None
    if first is not None:
        closes = first.closed_after is not None
        if first.closed_after is not None:
            print(
                f"after session.finished: the service closed the socket after "
                f"{_ms(first.closed_after)} (code {first.trace.close_code})"
            )
        else:
            print(
                f"after session.finished: the socket was still open after {CLOSE_WAIT_SECONDS:g} s "
                "(the client closes it)"
            )
    found = differences(traits(vad, manual, closes))
    if found:
        print("differences from the live service as observed:")
        for line in found:
            print(f"  - {line}")
    else:
        print("no differences from the live service as observed")
    bad = [r for r in runs if r.right is False]
    if bad:
        print(
            f"check: FAILED: {len(bad)} of {len(runs)} recordings not transcribed right",
            file=sys.stderr,
        )
        return 1
    print(f"check: OK: {len(runs)} recordings transcribed right", flush=True)
    return 0
