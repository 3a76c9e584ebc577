"""The product keeps to the docstring rules as Home Assistant core sets them.

ruff's ``D`` rules with core's ignores: every public module, class, function and method has a
docstring whose summary is one imperative line, in the server and the whole integration (its
client package included). ``.ci/run`` runs the same check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (ROOT / "wyoming_server", ROOT / "custom_components" / "qwen_asr")

DOCSTYLE = ["--select", "D", "--ignore", "D202,D203,D213,D406,D407", "--output-format", "concise"]


def _docstyle(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *DOCSTYLE, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_product_has_no_docstring_finding() -> None:
    """Run the docstring rules on every module of the server and the integration."""
    result = _docstyle(list(PRODUCT))
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_undocumented_function_and_a_noun_phrase_summary_are_findings(
    tmp_path: Path,
) -> None:
    """Check that the rules as configured catch what they are there to catch."""
    module = tmp_path / "sample.py"
    module.write_text(
        '"""A module."""\n\n\n'
        "def undocumented() -> None:\n    pass\n\n\n"
        'def described() -> int:\n    """The answer."""\n    return 42\n',
        encoding="utf-8",
    )
    result = _docstyle([module])
    assert result.returncode == 1
    assert "D103" in result.stdout  # missing docstring in public function
    assert "D401" in result.stdout  # summary not in the imperative mood
