"""Turn the parsed options into ``ServerSettings``: the one place they meet."""

from __future__ import annotations

import argparse
import dataclasses

from qwen_asr_realtime import (
    LANGUAGE_AUTO,
    AudioOptions,
    InsecureEndpointError,
    Timeouts,
    VadConfig,
    require_encryption,
)

from ..settings import Endpointing, ServerSettings
from .log_options import protect_secret
from .options import UsageError
from .qwen_options import read_api_key, read_context
from .serve_options import fallback_engine


def build_settings(args: argparse.Namespace, api_key: str) -> ServerSettings:
    """Return the settings the options ask for; raise UsageError for ones that conflict.

    Options a subcommand does not have (``transcribe`` has no limits) keep their defaults.
    """
    # Converted by --endpointing's type (earlier words included); transcribe has no such option.
    endpointing: Endpointing = getattr(args, "endpointing", Endpointing.HOME_ASSISTANT)
    vad = VadConfig(args.vad_threshold, args.vad_silence_ms) if args.vad else None
    if endpointing is Endpointing.QWEN and vad is None:
        raise UsageError("--endpointing qwen needs Qwen's VAD; remove --no-vad")
    language = None if args.language in (None, LANGUAGE_AUTO) else args.language
    try:
        require_encryption(args.region, allow_insecure=args.allow_insecure)
    except InsecureEndpointError as err:
        raise UsageError(f"--region {args.region}: {err} (--allow-insecure)") from None
    settings = ServerSettings(
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
        buffered=bool(getattr(args, "buffered", False)),
        fallback=fallback_engine(args),
    )
    return _with_limits(settings, args) if hasattr(args, "max_sessions") else settings


def _with_limits(settings: ServerSettings, args: argparse.Namespace) -> ServerSettings:
    minutes: float | None = args.daily_audio_minutes
    return dataclasses.replace(
        settings,
        max_sessions=args.max_sessions,
        max_request_seconds=args.max_request_seconds,
        daily_audio_seconds=None if minutes is None else minutes * 60.0,
        state_file=args.state_file,
        allow_clients=args.allow_clients,
        max_connections=args.max_connections,
        max_connections_per_client=args.max_connections_per_client,
        idle_connection_seconds=args.idle_seconds,
        max_sessions_per_client=args.max_sessions_per_client,
        max_sessions_per_minute=args.max_sessions_per_minute,
        min_audio_rate=args.min_audio_rate,
        slow_audio_grace_seconds=args.slow_audio_grace,
    )


def qwen_settings(
    args: argparse.Namespace, argv: list[str], *, key_required: bool = True
) -> ServerSettings:
    """Read the API key (masked from now on in everything that leaves) and build settings."""
    api_key = read_api_key(args, required=key_required, argv=argv)
    protect_secret(api_key)
    return build_settings(args, api_key)
