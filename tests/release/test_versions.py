"""One version for a release: every file that states it agrees (.ci/versions.py, which the
release workflow runs against the tag), and a file that drifts is named."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = (
    "pyproject.toml",
    "custom_components/qwen_asr/manifest.json",
    "wyoming_qwen_asr/config.yaml",
    "wyoming_qwen_asr/CHANGELOG.md",
    "wyoming_qwen_asr/build.yaml",
)


def _load_versions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_versions", ROOT / ".ci" / "versions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


versions = _load_versions()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The files that state the version, copied into a checkout-shaped temporary folder."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def edit(root: Path, name: str, change: Callable[[str], str]) -> None:
    path = root / name
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before, f"the edit did not apply to {name}"
    path.write_text(after, encoding="utf-8")


def test_this_checkout_states_one_version() -> None:
    assert versions.disagreements(ROOT) == []
    stated = versions.stated_versions(ROOT)
    assert set(stated) >= set(FILES) - {"wyoming_qwen_asr/build.yaml"}
    version = stated["pyproject.toml"]
    assert versions.main(["--tag", f"v{version}"]) == 0
    assert versions.main(["--tag", f"v{version}.1"]) == 1


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("pyproject.toml", 'version = "{v}"', 'version = "{v}.1"'),
        ("custom_components/qwen_asr/manifest.json", '"version": "{v}"', '"version": "{v}.1"'),
        ("wyoming_qwen_asr/config.yaml", 'version: "{v}"', 'version: "{v}.1"'),
        ("wyoming_qwen_asr/CHANGELOG.md", "## {v}", "## {v}.1\n\n- next\n\n## {v}"),
    ],
)
def test_a_file_that_drifts_is_named(copy: Path, name: str, old: str, new: str) -> None:
    version = versions.stated_versions(ROOT)["pyproject.toml"]
    assert versions.disagreements(copy) == []
    edit(copy, name, lambda text: text.replace(old.format(v=version), new.format(v=version), 1))
    problems = versions.disagreements(copy)
    assert len(problems) >= 1
    # pyproject.toml is the reference: when it drifts, every other file disagrees with it.
    expected = list(FILES[1:4]) if name == "pyproject.toml" else [name]
    assert all(any(p.startswith(n) for p in problems) for n in expected), problems


def test_an_image_of_ours_in_build_yaml_must_carry_the_version(copy: Path) -> None:
    version = versions.stated_versions(ROOT)["pyproject.toml"]
    build = copy / "wyoming_qwen_asr/build.yaml"
    build.write_text(
        build.read_text(encoding="utf-8")
        + f"args:\n  SERVER: ghcr.io/wyoming-qwen-asr/wyoming-qwen-asr:{version}\n",
        encoding="utf-8",
    )
    assert versions.disagreements(copy) == []
    edit(copy, "wyoming_qwen_asr/build.yaml", lambda t: t.replace(f"asr:{version}", "asr:0.0.9"))
    (problem,) = versions.disagreements(copy)
    assert problem.startswith("wyoming_qwen_asr/build.yaml:") and "'0.0.9'" in problem


def test_the_release_notes_are_the_versions_changelog_section(copy: Path) -> None:
    version = versions.stated_versions(ROOT)["pyproject.toml"]
    edit(
        copy,
        "wyoming_qwen_asr/CHANGELOG.md",
        lambda t: t.replace(f"## {version}", f"## {version}\n\n- the newest change\n\n## 0.0.1", 1),
    )
    assert versions.release_notes(copy) == "- the newest change\n"
