"""Home Assistant features that only newer versions have: feature checks, typed.

Each ``HAS_*`` flag is what this Home Assistant offers, found at import (never from its
version number). The type check runs once per supported Home Assistant with each flag set
to what that version has (``mypy --always-true/--always-false``, see
tests/support/qwen_asr/typecheck.py), so each branch is checked against the real names of the
versions that take it.
"""

from __future__ import annotations

import inspect
import sys
from typing import Final

from homeassistant.components import repairs, stt
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigEntry
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import intent

# HA 2026.5+: an entity says whether it detects the end of speech itself.
HAS_AUDIO_PROCESSING: Final = hasattr(stt, "DEFAULT_AUDIO_PROCESSING")
# HA 2026.11+: entities may yield partial transcripts (the progress entry point).
HAS_PARTIAL_RESULTS: Final = hasattr(stt, "PartialSpeechResult")
# Newer HA: a repair flow may hand the user over to another flow (``next_flow``).
HAS_REPAIRS_NEXT_FLOW: Final = "next_flow" in inspect.signature(RepairsFlow.async_abort).parameters

# HA 2026.5+: an entry lists its subentries of one type itself.
HAS_SUBENTRIES_OF_TYPE: Final = hasattr(ConfigEntry, "get_subentries_of_type")
# Newer HA: a device belongs to one entry and subentry and moves with ``new_config_*``;
# before, it is added to the new subentry and removed from the old one.
HAS_DEVICE_NEW_SUBENTRY: Final = (
    "new_config_subentry_id" in inspect.signature(dr.DeviceRegistry.async_update_device).parameters
)

# Newer HA: identifiers are unique within an entry only, looked up with the entry.
HAS_DEVICE_BY_IDENTIFIER: Final = hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")

# HA 2026.10+: an entity's names are an ordered list that may hold a marker for its
# computed name (not text); Assist reads them with this helper, and so does the context.
HAS_ENTITY_ALIASES: Final = hasattr(intent, "async_get_entity_aliases")
# HA 2026.11+: probatio validates flow schemas; HA aliases ``voluptuous`` to it at import.
HAS_PROBATIO: Final = "probatio" in sys.modules
# The typed result of repair flows (HA versions whose repairs know ``next_flow``).
HAS_REPAIRS_FLOW_RESULT: Final = hasattr(repairs, "RepairsFlowResult")

if HAS_PROBATIO:
    import probatio as vol
else:
    import voluptuous as vol

if HAS_REPAIRS_FLOW_RESULT:
    from homeassistant.components.repairs import RepairsFlowResult
else:
    from homeassistant.data_entry_flow import FlowResult as RepairsFlowResult

if HAS_AUDIO_PROCESSING:  # defined in models; the package's __all__ lists them from 2026.11
    from homeassistant.components.stt.models import (
        DEFAULT_AUDIO_PROCESSING,
        SpeechAudioProcessing,
    )

if HAS_PARTIAL_RESULTS:
    from homeassistant.components.stt import PartialSpeechResult

if HAS_REPAIRS_NEXT_FLOW:
    from homeassistant.components.repairs import FlowType

FEATURE_FLAGS: Final = {
    "HAS_AUDIO_PROCESSING": HAS_AUDIO_PROCESSING,
    "HAS_DEVICE_BY_IDENTIFIER": HAS_DEVICE_BY_IDENTIFIER,
    "HAS_DEVICE_NEW_SUBENTRY": HAS_DEVICE_NEW_SUBENTRY,
    "HAS_ENTITY_ALIASES": HAS_ENTITY_ALIASES,
    "HAS_PARTIAL_RESULTS": HAS_PARTIAL_RESULTS,
    "HAS_PROBATIO": HAS_PROBATIO,
    "HAS_REPAIRS_FLOW_RESULT": HAS_REPAIRS_FLOW_RESULT,
    "HAS_REPAIRS_NEXT_FLOW": HAS_REPAIRS_NEXT_FLOW,
    "HAS_SUBENTRIES_OF_TYPE": HAS_SUBENTRIES_OF_TYPE,
}

__all__ = [
    "DEFAULT_AUDIO_PROCESSING",
    "FEATURE_FLAGS",
    "HAS_AUDIO_PROCESSING",
    "HAS_DEVICE_BY_IDENTIFIER",
    "HAS_DEVICE_NEW_SUBENTRY",
    "HAS_ENTITY_ALIASES",
    "HAS_PARTIAL_RESULTS",
    "HAS_PROBATIO",
    "HAS_REPAIRS_FLOW_RESULT",
    "HAS_REPAIRS_NEXT_FLOW",
    "HAS_SUBENTRIES_OF_TYPE",
    "FlowType",
    "PartialSpeechResult",
    "RepairsFlowResult",
    "SpeechAudioProcessing",
    "vol",
]
