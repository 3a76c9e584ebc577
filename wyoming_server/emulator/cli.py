"""Command line: ``python -m wyoming_server.emulator`` serves until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from .behaviour import PROFILE_ENV, PROFILES, Behaviour, Faults, profile_from_env
from .recognizers import RecognizerFactory, ScriptedRecognizer
from .server import QwenEmulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wyoming_server.emulator",
        description="Local Qwen3-ASR-Flash-Realtime compatible WebSocket service.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        help="observed: the live service as public evidence shows it; documented: the "
        f"official documentation (default: ${PROFILE_ENV}, else observed; docs/protocol.md)",
    )
    parser.add_argument(
        "--idle-timeout-seconds",
        type=float,
        metavar="S",
        help="close a session that sent no audio for S seconds (0: never; observed: 60)",
    )
    parser.add_argument(
        "--vad-end-events",
        choices=("documented", "stopped-only", "committed-only"),
        help="server VAD's events at an utterance's end (observed: stopped-only)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        help="accepted API key (repeatable); without it any key is accepted",
    )
    parser.add_argument(
        "--recognizer",
        choices=("scripted", "pocketsphinx"),
        default="scripted",
        help="scripted: deterministic placeholders; pocketsphinx: offline home commands",
    )
    parser.add_argument(
        "--transcript",
        action="append",
        default=[],
        help="scripted recognizer: the transcript of utterance k of every session is the k-th "
        "--transcript (repeatable); later utterances get placeholders",
    )
    parser.add_argument(
        "--vad-backlog-limit-ms",
        type=int,
        metavar="MS",
        help="model a VAD that loses audio arriving more than MS ahead of real time",
    )
    parser.add_argument(
        "--finalize-delay-ms",
        type=int,
        default=0,
        metavar="MS",
        help="send each item's final result MS after its audio ended",
    )
    # Faults for tests of other processes (the end-to-end suite's fallback cases).
    parser.add_argument(
        "--drop-after-audio-ms",
        type=int,
        metavar="MS",
        help="fault: abort each connection after MS of audio",
    )
    parser.add_argument(
        "--stall-on",
        choices=("session.update", "session.finish"),
        help="fault: stop answering from this client event on",
    )
    parser.add_argument(
        "--drop-after-finish",
        choices=("after-items", "at-once"),
        help="fault: drop each connection after its session.finish, without session.finished "
        "(after-items: once the items' events are sent)",
    )
    parser.add_argument(
        "--connection-cap",
        action="store_true",
        help="fault: refuse every session with the account's connection cap "
        "(connections too much max_connections 100)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        help="accepted model (repeatable); without it every known model is accepted, e.g. "
        "leave a dated snapshot out to play a retired model",
    )
    parser.add_argument("--debug", action="store_true")
    return parser


def _recognizer(name: str, transcripts: Sequence[str]) -> RecognizerFactory:
    if name == "pocketsphinx":
        if transcripts:
            raise RuntimeError("--transcript needs --recognizer scripted")
        from .sphinx_recognizer import PocketSphinxRecognizer  # noqa: PLC0415 - optional dep

        return PocketSphinxRecognizer()
    return ScriptedRecognizer(transcripts)


def behaviour_of(args: argparse.Namespace) -> Behaviour:
    """Return the behaviour the arguments ask for.

    ``--profile`` (else $QWEN_EMULATOR_PROFILE, else observed) with the per-behaviour options
    on top; ValueError for an unknown profile.
    """
    changes: dict[str, object] = {}
    if args.idle_timeout_seconds is not None:
        changes["idle_timeout_seconds"] = args.idle_timeout_seconds or None
    if args.vad_end_events is not None:
        changes["vad_end_events"] = args.vad_end_events
    return Behaviour.profile(
        args.profile or profile_from_env(),
        vad_backlog_limit_ms=args.vad_backlog_limit_ms,
        finalize_delay_ms=args.finalize_delay_ms,
        **changes,
    )


async def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator with the command line's options until SIGINT or SIGTERM; return the status.

    It prints its URL once listening; 2 means a bad option or recognizer.
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        recognizer = _recognizer(args.recognizer, args.transcript)
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(sig, stop.set)
    api_keys = frozenset(args.api_key) if args.api_key else None
    try:
        behaviour = behaviour_of(args)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    async with QwenEmulator(
        host=args.host,
        port=args.port,
        api_keys=api_keys,
        recognizer_factory=recognizer,
        behaviour=behaviour,
        faults=Faults(
            drop_after_audio_ms=args.drop_after_audio_ms,
            stall_on=args.stall_on,
            drop_after_finish=args.drop_after_finish,
            rate_limit="connections" if args.connection_cap else None,
        ),
    ) as emulator:
        if args.model:
            emulator.models = frozenset(args.model)
        print(emulator.url, flush=True)
        await stop.wait()
    return 0


def run() -> None:
    """Run ``python -m wyoming_server.emulator`` and exit with its status."""
    sys.exit(asyncio.run(main(sys.argv[1:])))
