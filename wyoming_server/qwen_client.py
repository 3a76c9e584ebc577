"""The Qwen client for one session, built from the server's settings."""

from __future__ import annotations

from qwen_asr_realtime import ConnectionObserver, QwenRealtimeClient, SessionConfig

from .settings import ServerSettings


def new_client(
    settings: ServerSettings, config: SessionConfig, *, observer: ConnectionObserver | None = None
) -> QwenRealtimeClient:
    """Return a client for one session of ``config`` (``observer``: see ``check``)."""
    return QwenRealtimeClient(
        settings.api_key,
        config,
        endpoint=settings.endpoint,
        timeouts=settings.timeouts,
        allow_insecure=settings.allow_insecure,
        retry=settings.retry,
        audio=settings.audio,
        observer=observer,
    )
