"""The Qwen service that ``demo`` and ``listen`` talk to: Qwen with a key, else an emulator.

Without an API key a local emulator with the offline recognizer (pocketsphinx) stands in
for Qwen, so that both commands work with no account.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

from .settings import ServerSettings

EMULATOR_KEY = "demo-key"


def qwen_service(
    settings: ServerSettings,
) -> contextlib.AbstractAsyncContextManager[ServerSettings]:
    """Return the real service when a key is set; otherwise a local emulator (no account needed)."""
    return emulated_service(settings) if not settings.api_key else contextlib.nullcontext(settings)


@contextlib.asynccontextmanager
async def emulated_service(settings: ServerSettings) -> AsyncIterator[ServerSettings]:
    """Run a local emulator with the offline recognizer and yield settings pointing at it."""
    try:
        from .emulator import PocketSphinxRecognizer, QwenEmulator  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - depends on the install
        raise RuntimeError(f"the offline demo needs the emulator: {err}") from None
    try:
        recognizer = PocketSphinxRecognizer()
    except Exception as err:
        raise RuntimeError(
            f"the offline demo needs pocketsphinx (pip install 'wyoming-qwen-asr[demo]'): {err}"
        ) from None
    emulator = QwenEmulator(api_keys=frozenset({EMULATOR_KEY}), recognizer_factory=recognizer)
    async with emulator:
        yield dataclasses.replace(settings, api_key=EMULATOR_KEY, endpoint=emulator.url)
