"""Command line: serve (default), transcribe, check, demo, listen, mic and health.

Every option can also come from an environment variable (shown in ``--help``), so a
systemd unit or container can configure the server without putting the key on the
command line, where other users could read it in the process list.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

from qwen_asr_realtime import (
    MAX_CONTEXT_CHARS,
    AudioOptions,
    InsecureEndpointError,
    SecretFormatError,
    Timeouts,
    VadConfig,
    check_secret,
    redact,
    remember_secret,
    require_encryption,
)

from . import __version__
from .arg_types import given_on_command_line
from .fallback_args import add_fallback_arguments, fallback_engine
from .hass.args import add_hass_arguments
from .health import add_health_arguments
from .limit_args import add_limit_arguments, limit_settings
from .mic import add_listen_arguments, add_mic_arguments, add_mic_command
from .qwen_args import AUTO_LANGUAGE, add_qwen_arguments
from .secret_file import read_secret_file
from .settings import Endpointing, ServerSettings

_LOGGER = logging.getLogger(__name__)

PROG = "wyoming-qwen-asr"
DEFAULT_URI = "tcp://0.0.0.0:10300"
DEFAULT_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
COMMANDS = ("serve", "transcribe", "check", "demo", "listen", "mic", "health")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class UsageError(Exception):
    """A bad option value; reported as one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message names the offending option.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UsageError(f"environment variable {name} must be true or false, not {raw!r}")


def _log_options() -> _Parser:
    parent = _Parser(add_help=False)
    log = parent.add_argument_group("logging")
    log.add_argument(
        "--debug", action="store_true", default=None, help="debug logging (env QWEN_ASR_DEBUG)"
    )
    log.add_argument(
        "--log-format",
        default=_env("QWEN_ASR_LOG_FORMAT", DEFAULT_LOG_FORMAT),
        help="Python logging format (env QWEN_ASR_LOG_FORMAT)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Wyoming speech-to-text server for Home Assistant, backed by "
        "Alibaba Qwen3-ASR-Flash-Realtime. Without a subcommand, 'serve' runs.",
        # The options, and the environment variable of each, belong to the subcommands.
        epilog="The options and their environment variables are listed by each subcommand's "
        f"--help, e.g. '{PROG} serve --help' for the server's.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    log = _log_options()
    qwen = _Parser(add_help=False, parents=[log])  # every subcommand that talks to Qwen
    add_qwen_arguments(qwen)

    serve = commands.add_parser(
        "serve", parents=[qwen], help="run the Wyoming server (default)", description=None
    )
    serve.add_argument(
        "--uri",
        default=_env("QWEN_ASR_URI", DEFAULT_URI),
        help=f"tcp://HOST:PORT, unix://PATH or stdio:// (default {DEFAULT_URI}; env QWEN_ASR_URI)",
    )
    serve.add_argument(
        "--endpointing",
        choices=[e.value for e in Endpointing],
        default=_env("QWEN_ASR_ENDPOINTING", Endpointing.HA.value),
        help="ha: Home Assistant's VAD ends each request (default); server: answer as soon "
        "as Qwen's VAD ends the first utterance (HA 2026.10+) (env QWEN_ASR_ENDPOINTING)",
    )
    serve.add_argument(
        "--zeroconf",
        nargs="?",
        const="",
        default=_env("QWEN_ASR_ZEROCONF"),
        metavar="NAME",
        help="advertise _wyoming._tcp over mDNS, optionally under NAME (env QWEN_ASR_ZEROCONF)",
    )
    # Benchmark baseline (tests/benchmarks): send all audio after AudioStop.
    serve.add_argument("--buffered", action="store_true", default=None, help=argparse.SUPPRESS)

    add_limit_arguments(serve)
    add_mic_arguments(serve)  # also --allow-clients, for the STT and the mic service
    add_hass_arguments(serve)
    add_fallback_arguments(serve)

    transcribe = commands.add_parser(
        "transcribe", parents=[qwen], help="print the transcript of WAV files (tests a key)"
    )
    transcribe.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    transcribe.add_argument(
        "--fast", action="store_true", help="send audio as fast as possible, not in real time"
    )

    check = commands.add_parser(
        "check",
        parents=[qwen],
        help="send the bundled recordings through the service and report how it behaves",
        description="Send the bundled recordings through the Qwen service in VAD and manual "
        "mode; print timings, transcripts and how the service's events differ from the live "
        "service as observed. Exit status 0 when every recording is transcribed right.",
    )
    check.add_argument(
        "--trace",
        type=Path,
        metavar="FILE",
        help="write every event both ways to FILE as JSON lines (audio elided, no key), "
        "to attach to a bug report",
    )

    demo = commands.add_parser(
        "demo",
        parents=[qwen],
        help="offline demo: emulator + server + bundled speech (uses Qwen if a key is set)",
    )
    demo.add_argument("files", nargs="*", type=Path, metavar="FILE.wav")
    demo.add_argument(
        "--fast", action="store_true", help="send audio as fast as possible, not in real time"
    )
    listen = commands.add_parser(
        "listen",
        parents=[qwen],
        help="live transcripts from the microphone: checks mic, key and language at once "
        "(uses the local emulator when no key is set)",
    )
    add_listen_arguments(listen)
    add_mic_command(commands, parents=[log])
    health = commands.add_parser(
        "health",
        help="check that a server answers Describe with Info (exit 0: healthy, 1: not)",
        description="Send Describe to a Wyoming server and wait for its Info; exit status 0 "
        "when it answers within the timeout, else 1 (for container health checks).",
    )
    add_health_arguments(health, default_uri=_env("QWEN_ASR_URI", DEFAULT_URI) or DEFAULT_URI)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse, inserting the default ``serve`` command when none is named."""
    if not any(arg in COMMANDS for arg in argv[:1]) and not set(argv[:1]) & {
        "-h",
        "--help",
        "--version",
    }:
        argv = ["serve", *argv]
    args = build_parser().parse_args(argv)
    if args.command == "health":
        return args  # no Qwen options
    if args.debug is None:
        args.debug = _env_flag("QWEN_ASR_DEBUG", False)
    if args.command == "mic":
        return args  # no Qwen options
    if args.vad is None:
        args.vad = _env_flag("QWEN_ASR_VAD", True)
    if args.allow_insecure is None:
        args.allow_insecure = _env_flag("QWEN_ASR_ALLOW_INSECURE", False)
    return args


# -- settings -------------------------------------------------------------------------


def read_api_key(
    args: argparse.Namespace, *, required: bool = True, argv: list[str] | None = None
) -> str:
    """Return the key of --api-key, QWEN_API_KEY or --api-key-file ("" if none, not required).

    Raise UsageError naming the input whose key is not one line of printable ASCII; warn
    when the key is on the command line, where ``ps`` shows it.
    """
    if args.api_key:
        option = "--api-key" if given_on_command_line("--api-key", argv) else "QWEN_API_KEY"
        if option == "--api-key":
            _LOGGER.warning(
                "--api-key on the command line is visible to other users in ps; "
                "use QWEN_API_KEY or --api-key-file"
            )
        try:
            return check_secret(str(args.api_key), option)
        except SecretFormatError as err:
            raise UsageError(str(err)) from None
    path: Path | None = args.api_key_file
    if path is not None:
        try:
            return read_secret_file(path, "--api-key-file")
        except ValueError as err:
            raise UsageError(str(err)) from None
    if required:
        raise UsageError("an API key is required: set QWEN_API_KEY or use --api-key-file")
    return ""


def read_context(args: argparse.Namespace) -> str:
    path: Path | None = args.context_file
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read --context-file {path}: {err.__class__.__name__}") from None
    if len(text) > MAX_CONTEXT_CHARS:
        _LOGGER.warning("Context file is longer than %d characters; trimmed", MAX_CONTEXT_CHARS)
    return text


def build_settings(args: argparse.Namespace, api_key: str) -> ServerSettings:
    endpointing = Endpointing(getattr(args, "endpointing", Endpointing.HA.value))
    vad = VadConfig(args.vad_threshold, args.vad_silence_ms) if args.vad else None
    if endpointing is Endpointing.SERVER and vad is None:
        raise UsageError("--endpointing server needs Qwen's VAD; remove --no-vad")
    language = None if args.language in (None, AUTO_LANGUAGE) else args.language
    try:
        require_encryption(args.region, allow_insecure=args.allow_insecure)
    except InsecureEndpointError as err:
        raise UsageError(f"--region {args.region}: {err} (--allow-insecure)") from None
    return ServerSettings(
        api_key=api_key,
        endpoint=args.region,
        model=args.model,
        language=language,
        force_language=args.language is not None,
        vad=vad,
        context=read_context(args),
        endpointing=endpointing,
        timeouts=Timeouts(finish=args.timeout, finish_silence=args.stall_timeout or None),
        allow_insecure=args.allow_insecure,
        audio=AudioOptions(coalesce_ms=args.coalesce_ms),
        buffered=bool(getattr(args, "buffered", None) or _env_flag("QWEN_ASR_BUFFERED", False)),
        **limit_settings(args),
        fallback=fallback_engine(args),
    )


class SecretFilter(logging.Filter):
    """Last line of defence: ``redact`` every log record, its message and traceback.

    That masks the process's secrets and any credential-shaped text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place (every later handler sees it masked); keep it."""
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text: the traceback is formatted once, here, masked.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def configure_logging(args: argparse.Namespace) -> None:
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format=args.log_format,
        stream=sys.stderr,
    )
    if args.command in ("demo", "listen", "check") and not args.debug:
        # These print their results; the emulator's connection chatter would bury them.
        logging.getLogger().setLevel(logging.WARNING)


def protect_secret(secret: str) -> None:
    """Mask ``secret`` in everything that leaves the process (``redact``), logs included."""
    remember_secret(secret)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(known, SecretFilter) for known in handler.filters):
            handler.addFilter(SecretFilter())
