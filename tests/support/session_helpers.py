"""A client for the emulator as the client tests build it, and audio appended in pieces."""

from __future__ import annotations

from qwen_asr_realtime import QwenRealtimeClient, RetryPolicy, SessionConfig, Timeouts, VadConfig

from wyoming_server.emulator import QwenEmulator

KEY = "test-key"
FAST_VAD = VadConfig(threshold=0.2, silence_duration_ms=400)
QUICK = RetryPolicy(delays=(0.05, 0.05, 0.05), jitter=0)
# The production defaults of the two finish bounds: 20 s in total, 3 s of silence.
DEFAULT_FINISH = Timeouts(connect=3.0, setup=3.0, close=1.0)


def session_client(
    emulator: QwenEmulator,
    *,
    retry: RetryPolicy = QUICK,
    timeouts: Timeouts = DEFAULT_FINISH,
    **config: object,
) -> QwenRealtimeClient:
    """Return a client of ``emulator`` (English, a quick VAD) with these session settings."""
    settings: dict[str, object] = {"language": "en", "vad": FAST_VAD, **config}
    return QwenRealtimeClient(
        KEY,
        SessionConfig(**settings),  # type: ignore[arg-type]
        endpoint=emulator.url,
        timeouts=timeouts,
        retry=retry,
    )


def append_all(client: QwenRealtimeClient, pcm: bytes, chunk: int = 3200) -> None:
    """Append ``pcm`` in pieces of ``chunk`` bytes (100 ms by default)."""
    for start in range(0, len(pcm), chunk):
        client.append_audio(pcm[start : start + chunk])
