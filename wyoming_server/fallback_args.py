"""``--fallback-uri`` and its options, and the engine in use as ``health`` reports it."""

from __future__ import annotations

import argparse
import dataclasses
import os

from qwen_asr_realtime import DEFAULT_FIRST_SECONDS, DEFAULT_MAX_SECONDS, CircuitBreaker, redact
from wyoming.info import Info

from .arg_types import float_in_range
from .fallback import DEFAULT_ANSWER_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, FallbackEngine

# Info has no field for it: the ASR program's description carries the engine in use.
IN_USE_PREFIX = " In use: "
_TRUE = {"1", "true", "yes", "on"}


def _tcp_uri(value: str) -> str:
    from .server import parse_uri  # noqa: PLC0415 - server.py imports this module

    try:
        address = parse_uri(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if address.scheme != "tcp":
        raise argparse.ArgumentTypeError(f"the fallback must be a tcp://HOST:PORT URI: {value!r}")
    return value


def add_fallback_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fallback (another Wyoming ASR answers when Qwen fails)")
    group.add_argument(
        "--fallback-uri",
        type=_tcp_uri,
        default=os.environ.get("QWEN_ASR_FALLBACK_URI"),
        metavar="tcp://HOST:PORT",
        help="a Wyoming speech-to-text service (e.g. wyoming-faster-whisper) that gets the "
        "request's audio when Qwen cannot be reached, drops, stalls or is rate limited "
        "(env QWEN_ASR_FALLBACK_URI)",
    )
    group.add_argument(
        "--fallback-on-auth-error",
        action="store_true",
        default=os.environ.get("QWEN_ASR_FALLBACK_ON_AUTH_ERROR", "").strip().lower() in _TRUE,
        help="use the fallback for a rejected API key too; by default that answers an "
        "error, so that the key gets fixed (env QWEN_ASR_FALLBACK_ON_AUTH_ERROR)",
    )
    group.add_argument(
        "--fallback-connect-timeout",
        type=float_in_range(0.05, 60.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_FALLBACK_CONNECT_TIMEOUT", str(DEFAULT_CONNECT_TIMEOUT)),
        help=f"seconds to connect to the fallback (default {DEFAULT_CONNECT_TIMEOUT:g}; "
        "env QWEN_ASR_FALLBACK_CONNECT_TIMEOUT)",
    )
    group.add_argument(
        "--fallback-timeout",
        type=float_in_range(0.1, 600.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_FALLBACK_TIMEOUT", str(DEFAULT_ANSWER_TIMEOUT)),
        help="seconds after the end of audio to wait for the fallback's transcript "
        f"(default {DEFAULT_ANSWER_TIMEOUT:g}; env QWEN_ASR_FALLBACK_TIMEOUT)",
    )
    group.add_argument(
        "--fallback-retry-seconds",
        type=float_in_range(0.0, 3600.0, unit="seconds"),
        default=os.environ.get("QWEN_ASR_FALLBACK_RETRY_SECONDS", str(DEFAULT_FIRST_SECONDS)),
        help="after a failure, new requests skip Qwen this long, doubling per failure up to "
        f"{DEFAULT_MAX_SECONDS:g} s; 0: always try Qwen first (default "
        f"{DEFAULT_FIRST_SECONDS:g}; env QWEN_ASR_FALLBACK_RETRY_SECONDS)",
    )


def fallback_engine(args: argparse.Namespace) -> FallbackEngine | None:
    uri: str | None = getattr(args, "fallback_uri", None)
    if not uri:
        return None
    from .server import parse_uri  # noqa: PLC0415 - server.py imports this module

    address = parse_uri(uri)
    first = args.fallback_retry_seconds
    return FallbackEngine(
        host=address.host,
        port=address.port,
        connect_timeout=args.fallback_connect_timeout,
        answer_timeout=args.fallback_timeout,
        on_auth_error=args.fallback_on_auth_error,
        breaker=CircuitBreaker(first, max(DEFAULT_MAX_SECONDS, first)),
    )


def info_with_engine(
    info: Info, engine: FallbackEngine | None, *, budget_used_up: bool = False
) -> Info:
    """``info`` with the engine in use in its ASR program's description (for ``health``)."""
    if engine is None:
        return info
    # Sent to every client that asks (and kept by Docker from ``health``): the failure in
    # it passes the outbound boundary.
    note = IN_USE_PREFIX + redact(engine.in_use(budget_used_up=budget_used_up))
    programs = [
        dataclasses.replace(program, description=(program.description or "") + note)
        for program in info.asr
    ]
    return dataclasses.replace(info, asr=programs)


def engine_in_use(description: str | None) -> str | None:
    """The engine named by ``info_with_engine``, or None (no fallback configured)."""
    if not description or IN_USE_PREFIX not in description:
        return None
    return description.split(IN_USE_PREFIX, 1)[1]
