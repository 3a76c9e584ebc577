"""Runtime data of a config entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .context import HomeContext
from .realtime import CircuitBreaker


@dataclass
class QwenRuntimeData:
    """What the entity shares with diagnostics while the entry is loaded."""

    home_context: HomeContext
    # Summary of the latest recognition (no audio, no transcript text, no key).
    last_session: dict[str, Any] = field(default_factory=dict)
    # The latest answer of the "If Qwen fails, use" entity: which, why, when (fallback.py).
    last_fallback: dict[str, Any] = field(default_factory=dict)
    # With a fallback entity: after Qwen fails, skip it for a growing while (breaker.py).
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)


QwenConfigEntry = ConfigEntry[QwenRuntimeData]
