"""Home Assistant features that only newer versions have: feature checks, typed.

Each ``HAS_*`` flag is what this Home Assistant offers, found at import (never from its
version number). The type check runs once per supported Home Assistant with each flag set
to what that version has (``mypy --always-true/--always-false``, see tests/ha/typecheck.py),
so each branch is checked against the real names of the versions that take it.
"""

from __future__ import annotations

import inspect
from typing import Final

from homeassistant.components import stt
from homeassistant.components.repairs import RepairsFlow

# HA 2026.5+: an entity says whether it detects the end of speech itself.
HAS_AUDIO_PROCESSING: Final = hasattr(stt, "DEFAULT_AUDIO_PROCESSING")
# HA 2026.11+: entities may yield partial transcripts (the progress entry point).
HAS_PARTIAL_RESULTS: Final = hasattr(stt, "PartialSpeechResult")
# Newer HA: a repair flow may hand the user over to another flow (``next_flow``).
HAS_REPAIRS_NEXT_FLOW: Final = "next_flow" in inspect.signature(RepairsFlow.async_abort).parameters

if HAS_AUDIO_PROCESSING:
    from homeassistant.components.stt import (
        DEFAULT_AUDIO_PROCESSING,
        SpeechAudioProcessing,
    )

if HAS_PARTIAL_RESULTS:
    from homeassistant.components.stt import PartialSpeechResult

if HAS_REPAIRS_NEXT_FLOW:
    from homeassistant.components.repairs import FlowType

FEATURE_FLAGS: Final = {
    "HAS_AUDIO_PROCESSING": HAS_AUDIO_PROCESSING,
    "HAS_PARTIAL_RESULTS": HAS_PARTIAL_RESULTS,
    "HAS_REPAIRS_NEXT_FLOW": HAS_REPAIRS_NEXT_FLOW,
}

__all__ = [
    "DEFAULT_AUDIO_PROCESSING",
    "FEATURE_FLAGS",
    "HAS_AUDIO_PROCESSING",
    "HAS_PARTIAL_RESULTS",
    "HAS_REPAIRS_NEXT_FLOW",
    "FlowType",
    "PartialSpeechResult",
    "SpeechAudioProcessing",
]
