"""The soak command in its quick form: every request answered, nothing leaked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent / "run.py"


def test_quick_soak_passes(tmp_path: Path) -> None:
    results = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    table = results.read_text()
    assert "Result: PASS" in table
    assert "| Failures (wrong/no answer in time) | 0 | 0 | 0 |" in table
    assert "sk-soak-secret-key" not in done.stdout + done.stderr
