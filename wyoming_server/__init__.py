"""wyoming-qwen-asr: a Wyoming speech-to-text server backed by Qwen3-ASR-Flash-Realtime."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wyoming-qwen-asr")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
