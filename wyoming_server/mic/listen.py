"""``wyoming-qwen-asr listen``: microphone -> Qwen (server VAD), live transcripts on the terminal.

The one command a Pi owner runs to check microphone, key and language together. Without an
API key it uses the local emulator with the offline recognizer, exactly like ``demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from typing import Any, TextIO

from qwen_asr_realtime import (
    AuthenticationError,
    ConfigError,
    Final,
    ItemFailed,
    Partial,
    QwenConnectionError,
    QwenError,
    QwenRealtimeClient,
    SpeechStarted,
    SpeechStopped,
)

from ..emulated import qwen_service
from ..qwen_client import new_client
from ..settings import ServerSettings
from .alsa import MicDeviceError
from .capture import MicCapture, MicChunk, capture_config
from .fanout import Subscription

PROG = "wyoming-qwen-asr"
# The client holds audio until the session is ready; keep the start of speech meanwhile.
LISTEN_BACKLOG = 512  # chunks; about 30 s at 1024 samples
PRINTER_GRACE_SECONDS = 5.0
# After a service error or a dropped connection: seconds before the next session.
RECONNECT_DELAYS_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


async def run_listen(
    args: argparse.Namespace,
    settings: ServerSettings,
    *,
    capture: MicCapture | None = None,
    out: TextIO | None = None,
) -> int:
    """Transcribe the microphone and print what Qwen recognizes; return the exit status.

    0 after Ctrl-C (or the end of the audio), 1 if Qwen rejects the key or a setting (other
    errors reconnect), 2 if the microphone cannot be opened. ``capture`` and ``out`` are for
    tests.
    """
    stream = out if out is not None else sys.stdout
    capture = capture or MicCapture(capture_config(args))
    try:
        await capture.start()
    except MicDeviceError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    subscription = capture.subscribe(LISTEN_BACKLOG, name="listen")
    offline = not settings.api_key
    try:
        async with qwen_service(settings) as active:
            where = "the local emulator (offline recognizer)" if offline else active.endpoint
            print(
                f"Listening on {capture.config.device!r}, language "
                f"{active.language or 'auto'}, transcribing with {where}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            printer = _Printer(stream, as_json=bool(getattr(args, "json", False)))
            return await _listen(active, subscription, printer)
    except RuntimeError as err:  # the emulator could not start
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    finally:
        subscription.close()
        await capture.stop()


async def _listen(
    settings: ServerSettings, subscription: Subscription[MicChunk], printer: _Printer
) -> int:
    """Run session after session until Ctrl-C or the end of the audio; return the exit status.

    A service error or a dropped connection is announced and followed by a new session after
    a backoff; the microphone's backlog holds the audio meanwhile. A rejected key or setting
    ends it.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    failures = 0
    try:
        while True:
            client = new_client(settings, settings.session_config(settings.language))
            try:
                await _session(client, subscription, printer, stop)
                return 0
            except (AuthenticationError, ConfigError) as err:
                printer.end_line()
                print(f"{PROG}: error: {err}", file=sys.stderr)
                return 1
            except QwenError as err:
                if client.results.session_id is not None:
                    failures = 0  # it worked for a while: retry quickly
                delay = RECONNECT_DELAYS_SECONDS[min(failures, len(RECONNECT_DELAYS_SECONDS) - 1)]
                failures += 1
                printer.end_line()
                print(
                    f"{PROG}: Qwen session ended: {err}; reconnecting in {delay:g} s",
                    file=sys.stderr,
                    flush=True,
                )
            if await _stopped_within(stop, delay):
                return 0
            print(f"{PROG}: reconnecting to Qwen", file=sys.stderr, flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


async def _session(
    client: QwenRealtimeClient,
    subscription: Subscription[MicChunk],
    printer: _Printer,
    stop: asyncio.Event,
) -> None:
    """Run one Qwen session; return after Ctrl-C or the end of the audio, raise QwenError."""
    client.start()
    printing = asyncio.create_task(printer.print_events(client))
    feeding = asyncio.create_task(_feed(subscription, client))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({printing, feeding, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if printing.done():  # the session ended on its own
            printing.result()  # raises the error that ended it
            raise QwenConnectionError("The service ended the session")
        if feeding.done():
            feeding.result()  # a failed append raises; else the audio has ended
        else:
            subscription.close()
            await feeding
        await client.finish()  # session.finish: the service flushes the last utterance
        async with asyncio.timeout(PRINTER_GRACE_SECONDS):
            await printing
    finally:
        for task in (printing, feeding, stopping):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await client.close()
        printer.end_line()


async def _feed(subscription: Subscription[MicChunk], client: QwenRealtimeClient) -> None:
    async for chunk in subscription:
        await client.send_audio(chunk.audio)


class _Printer:
    """Print a client's events: as text, or as one JSON object per event.

    Text shows the live partial rewritten on one line (terminals only), each final on its own.
    """

    def __init__(self, out: TextIO, *, as_json: bool) -> None:
        self._out = out
        self._json = as_json
        self._live = not as_json and out.isatty()
        self._partial_shown = False

    async def print_events(self, client: QwenRealtimeClient) -> None:
        async for event in client.events():
            match event:
                case Partial():
                    self._partial(event)
                case Final():
                    self._final(event)
                case SpeechStarted() | SpeechStopped() | ItemFailed() if self._json:
                    self._emit(_as_dict(event))

    def _partial(self, event: Partial) -> None:
        if self._json:
            self._emit({"type": "partial", "item_id": event.item_id, "text": event.preview})
        elif self._live:
            self._out.write(f"\r\x1b[K{event.preview}")
            self._out.flush()
            self._partial_shown = True

    def _final(self, event: Final) -> None:
        if self._json:
            self._emit(
                {
                    "type": "final",
                    "item_id": event.item_id,
                    "text": event.transcript,
                    "language": event.language,
                    "emotion": event.emotion,
                }
            )
            return
        if self._partial_shown:
            self._out.write("\r\x1b[K")
            self._partial_shown = False
        self._out.write(event.transcript + "\n")
        self._out.flush()

    def _emit(self, data: dict[str, Any]) -> None:
        self._out.write(json.dumps(data, ensure_ascii=False) + "\n")
        self._out.flush()

    def end_line(self) -> None:
        if self._partial_shown:
            self._out.write("\n")
            self._out.flush()
            self._partial_shown = False


def _as_dict(event: SpeechStarted | SpeechStopped | ItemFailed) -> dict[str, Any]:
    if isinstance(event, SpeechStarted):
        return {"type": "speech_started", "item_id": event.item_id, "ms": event.audio_start_ms}
    if isinstance(event, SpeechStopped):
        return {"type": "speech_stopped", "item_id": event.item_id, "ms": event.audio_end_ms}
    return {"type": "failed", "item_id": event.item_id, "message": event.message}
