"""Smoke test of the abuse benchmark: one short flood per attack, every row printed.

Checks behaviour (each attack ran, the mic header and the budget were refused), never
memory or timing: the bounds are asserted by tests/abuse, the numbers are the benchmark's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "abuse_bench", Path(__file__).with_name("abuse_bench.py")
)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = bench
_SPEC.loader.exec_module(bench)


async def test_every_attack_prints_its_row(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = await bench.main(0.5)
    rows = capsys.readouterr().out.splitlines()
    assert len(outcomes) == len(rows) == 7
    by_name = {outcome.attack: outcome for outcome in outcomes}
    copies = [outcome for outcome in outcomes if outcome.attack.startswith("fallback copies")]
    assert len(copies) == 2  # 31 connections each, with and without the total bound
    assert "error bad-request" in by_name["mic service, 700 MiB payload header"].note
    assert all(outcome.sent > 0 for outcome in outcomes)
    budget = next(outcome for outcome in outcomes if outcome.attack.startswith("budget"))
    assert "budget counted" in budget.note
