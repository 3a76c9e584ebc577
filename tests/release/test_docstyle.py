"""The server's cleaned modules keep to the docstring rules as Home Assistant core sets them.

ruff's ``D`` rules with core's ignores: every public module, class, function and method has a
docstring whose summary is one imperative line. The files listed are the ones cleaned so far;
``.ci/run`` is to check the whole product once every file passes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "wyoming_server"

DOCSTYLE = ["--select", "D", "--ignore", "D202,D203,D213,D406,D407", "--output-format", "concise"]
# Every module of these folders.
FOLDERS = ("cli", "emulator", "mic", "hass")
NOT_YET: tuple[str, ...] = ()
MODULES = (
    "__main__.py",
    "access.py",
    "addresses.py",
    "addon.py",
    "audio.py",
    "audio_budget.py",
    "check.py",
    "check_profile.py",
    "check_trace.py",
    "client_pace.py",
    "client_stream.py",
    "connections.py",
    "demo.py",
    "emulated.py",
    "fallback.py",
    "fallback_request.py",
    "handler.py",
    "health.py",
    "info.py",
    "limits.py",
    "opening.py",
    "read_watchdog.py",
    "request.py",
    "request_types.py",
    "server.py",
    "settings.py",
    "transcribe.py",
    "wav.py",
    "wire.py",
    "zeroconf.py",
)


def _cleaned() -> list[Path]:
    skipped = {SERVER / name for name in NOT_YET}
    paths = [SERVER / name for name in MODULES]
    for folder in FOLDERS:
        paths += [path for path in sorted((SERVER / folder).glob("*.py")) if path not in skipped]
    return paths


def _docstyle(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", *DOCSTYLE, *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cleaned_server_modules_have_no_docstring_finding() -> None:
    """Run the docstring rules on the cleaned modules: no finding."""
    paths = _cleaned()
    assert all(path.is_file() for path in paths), [p for p in paths if not p.is_file()]
    assert len(paths) > len(MODULES) + 30  # the folders' modules are included
    result = _docstyle(paths)
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
