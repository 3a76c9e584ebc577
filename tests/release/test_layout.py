"""The tests' own layout: folders named after the packages they test, helpers apart.

Every folder under tests/ is a package, so pytest puts the repository root on ``sys.path``,
never ``tests/``: ``tests/wyoming_server`` must not shadow the real ``wyoming_server``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import qwen_asr_realtime

import wyoming_server

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
# Run by name, not helpers: the benchmark scripts, the soak run, the opt-in latency benchmark.
SCRIPTS = ("tests/benchmarks/", "tests/soak/run.py", "tests/e2e/bench_latency.py")


def _python_folders() -> list[Path]:
    return sorted({path.parent for path in TESTS.rglob("*.py") if "__pycache__" not in path.parts})


def test_the_packages_under_test_are_imported_from_the_source_not_from_tests() -> None:
    for package in (wyoming_server, qwen_asr_realtime):
        assert package.__file__ is not None
        assert TESTS not in Path(package.__file__).resolve().parents, package.__file__
    assert TESTS not in {Path(entry).resolve() for entry in sys.path if entry}


def test_every_test_folder_is_a_package() -> None:
    missing = [d.relative_to(ROOT) for d in _python_folders() if not (d / "__init__.py").exists()]
    assert not missing


def test_test_folders_hold_only_tests_and_helpers_live_in_support() -> None:
    strays = [
        name
        for folder in _python_folders()
        if TESTS / "support" not in (folder, *folder.parents)
        for path in folder.glob("*.py")
        if not path.name.startswith("test_")
        and path.name not in ("conftest.py", "__init__.py")
        and not (name := path.relative_to(ROOT).as_posix()).startswith(SCRIPTS)
    ]
    assert not strays
