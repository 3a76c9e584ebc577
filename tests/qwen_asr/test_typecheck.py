"""The integration is strictly typed against this Home Assistant (each HA suite runs this)."""

from __future__ import annotations

from custom_components.qwen_asr.compat import FEATURE_FLAGS
from tests.support.qwen_asr.typecheck import mypy_command, run


def test_feature_flags_reach_mypy() -> None:
    """Every feature flag is fixed for mypy to what this Home Assistant has."""
    command = mypy_command()
    for name, present in FEATURE_FLAGS.items():
        assert f"--always-{str(present).lower()}={name}" in command


def test_mypy_strict_passes() -> None:
    """mypy --strict (pyproject's settings) finds nothing in the integration."""
    result = run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
