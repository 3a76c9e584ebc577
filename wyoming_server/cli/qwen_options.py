"""The options of every subcommand that talks to Qwen (``serve``, ``transcribe``, ...).

The value types raise ArgumentTypeError so that argparse reports the option by name.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from qwen_asr_realtime import (
    DEFAULT_COALESCE_MS,
    DEFAULT_MODEL,
    DEFAULT_REGION,
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    LANGUAGE_AUTO,
    MAX_COALESCE_MS,
    MAX_CONTEXT_CHARS,
    SILENCE_MS_RANGE,
    VAD_THRESHOLD_RANGE,
    ConfigError,
    SecretFormatError,
    check_secret,
    normalize_language,
    resolve_endpoint,
)

from .log_options import add_log_arguments
from .options import (
    UsageError,
    flag,
    float_in_range,
    given_on_command_line,
    int_in_range,
    option,
    secret,
)
from .secret_file import read_secret_file

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_STALL_TIMEOUT_SECONDS = 3.0


def _region(value: str) -> str:
    try:
        # The URL's form only: whether ws:// is allowed depends on --allow-insecure.
        resolve_endpoint(value, allow_insecure=True)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def _model(value: str) -> str:
    if not value or any(ch in value for ch in "?&#/ "):
        raise argparse.ArgumentTypeError(f"invalid model name {value!r}")
    return value


def _language(value: str) -> str:
    if value.strip().lower() in ("", LANGUAGE_AUTO):
        return LANGUAGE_AUTO
    code: str | None = normalize_language(value)
    if code is None:
        raise argparse.ArgumentTypeError(f"unsupported language {value!r}")
    return code


def add_qwen_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the logging options and the options shared by every subcommand that talks to Qwen."""
    add_log_arguments(parser)
    qwen = parser.add_argument_group("Qwen service")
    secret(
        qwen,
        "--api-key",
        env="QWEN_API_KEY",
        help="DashScope API key; prefer the variable or --api-key-file to this flag",
        file_help="file holding the API key, mode 600",
    )
    option(
        qwen,
        "--region",
        env="QWEN_ASR_REGION",
        default=DEFAULT_REGION,
        type=_region,
        help="intl (Singapore), cn (Beijing) or a ws:// / wss:// URL",
    )
    flag(
        qwen,
        "--allow-insecure",
        env="QWEN_ASR_ALLOW_INSECURE",
        action=argparse.BooleanOptionalAction,
        help="allow a ws:// --region on another machine, which sends the API key and audio "
        "unencrypted (ws:// to this machine is always allowed)",
    )
    option(
        qwen,
        "--model",
        env="QWEN_ASR_MODEL",
        default=DEFAULT_MODEL,
        type=_model,
        help="model name",
    )
    option(
        qwen,
        "--language",
        env="QWEN_ASR_LANGUAGE",
        type=_language,
        shown_default="the request's language, else automatic",
        help="force a language (en, zh, de, ...) or 'auto'",
    )
    flag(
        qwen,
        "--vad",
        env="QWEN_ASR_VAD",
        default=True,
        action=argparse.BooleanOptionalAction,
        help="Qwen server VAD splits utterances; --no-vad: manual mode",
    )
    option(
        qwen,
        "--vad-threshold",
        env="QWEN_ASR_VAD_THRESHOLD",
        default=DEFAULT_VAD_THRESHOLD,
        type=float_in_range(*VAD_THRESHOLD_RANGE),
        help="server VAD threshold -1..1",
    )
    option(
        qwen,
        "--vad-silence-ms",
        env="QWEN_ASR_VAD_SILENCE_MS",
        default=DEFAULT_SILENCE_MS,
        type=int_in_range(*SILENCE_MS_RANGE, unit="ms"),
        help="silence that ends an utterance, 200-6000 ms",
    )
    option(
        qwen,
        "--context-file",
        env="QWEN_ASR_CONTEXT_FILE",
        type=Path,
        help="text (names, terms) that biases recognition",
    )
    option(
        qwen,
        "--coalesce-ms",
        env="QWEN_ASR_COALESCE_MS",
        default=DEFAULT_COALESCE_MS,
        type=int_in_range(0, MAX_COALESCE_MS, unit="ms"),
        help="join small audio pieces into appends of this duration, 0: one append per piece",
    )
    option(
        qwen,
        "--timeout",
        env="QWEN_ASR_TIMEOUT",
        default=DEFAULT_TIMEOUT_SECONDS,
        type=float_in_range(0.1, 3600.0, unit="seconds"),
        help="seconds to wait for the final transcript",
    )
    option(
        qwen,
        "--stall-timeout",
        env="QWEN_ASR_STALL_TIMEOUT",
        default=DEFAULT_STALL_TIMEOUT_SECONDS,
        type=float_in_range(0.0, 3600.0, unit="seconds"),
        help="after the end of audio, give up when Qwen sends nothing for this long; "
        "0: only --timeout",
    )


def add_wav_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """Add the WAV files (at least one if ``required``) and ``--fast`` (transcribe, demo)."""
    parser.add_argument("files", nargs="+" if required else "*", type=Path, metavar="FILE.wav")
    parser.add_argument(
        "--fast", action="store_true", help="send audio as fast as possible, not in real time"
    )


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
    """Return the text of --context-file ("" without one); raise UsageError if unreadable."""
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
