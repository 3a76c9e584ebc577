"""Smoke test of the fallback benchmark: one run of each case, every answer complete.

Checks behaviour (each fallback transcript equals the fallback's own one of the whole
recording), never timing: the targets are the benchmark's business.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "fallback_bench", Path(__file__).with_name("fallback_bench.py")
)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = bench
_SPEC.loader.exec_module(bench)


async def test_every_case_loses_no_audio(capsys: pytest.CaptureFixture[str]) -> None:
    assert await bench.main(1) == 0
    out = capsys.readouterr().out
    assert out.count("no audio lost") == 4, out
    assert "utterance 1 of" in out
