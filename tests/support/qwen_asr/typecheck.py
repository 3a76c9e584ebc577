"""mypy --strict of the integration against the Home Assistant installed here.

Each feature flag of ``custom_components/qwen_asr/compat.py`` is set to what this Home
Assistant has (``--always-true``/``--always-false``), so mypy checks exactly the branches
this version runs, against this version's own names. Run in every HA environment:
``python -m tests.support.qwen_asr.typecheck`` from the project root, or test_typecheck.py in
the HA suite (how the HA 2026.x suites, which only run pytest, type-check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def mypy_command() -> list[str]:
    """The mypy call for this interpreter and this Home Assistant."""
    from custom_components.qwen_asr.compat import FEATURE_FLAGS  # noqa: PLC0415

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [sys.executable, "-m", "mypy", "--python-version", version]
    for name, present in sorted(FEATURE_FLAGS.items()):
        command.append(f"--always-{'true' if present else 'false'}={name}")
    return [*command, "custom_components/qwen_asr"]


def run() -> subprocess.CompletedProcess[str]:
    """Run the type check (bounded: a cold cache takes about a minute)."""
    return subprocess.run(
        mypy_command(), cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )


if __name__ == "__main__":
    result = run()
    print(" ".join(mypy_command()[1:]))
    print(result.stdout + result.stderr, end="")
    sys.exit(result.returncode)
