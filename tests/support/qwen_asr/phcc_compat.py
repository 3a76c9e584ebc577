"""Lets pytest-homeassistant-custom-component 0.13.375 run on Home Assistant 2026.11.0.

No phcc release is made for HA 2026.11.0 yet; 0.13.375 was generated from HA 2026.10.4's
own test helpers. Loaded with ``-p tests.support.qwen_asr.phcc_compat`` before phcc's plugin (see
.ci/run), it imports Home Assistant first, as HA 2026.11 requires (it aliases httpx and
voluptuous at import), and restores names that HA 2026.11 moved. Each shim applies only
where the name is missing, so on other versions this module changes nothing.
"""

from __future__ import annotations

import homeassistant.components.logger as logger_component
from homeassistant.components.logger import helpers as logger_helpers

# HA 2026.11 no longer re-exports this helper from the component's package.
if not hasattr(logger_component, "_clear_logger_overwrites"):
    logger_component._clear_logger_overwrites = logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]
