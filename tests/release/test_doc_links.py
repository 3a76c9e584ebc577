"""The documentation's relative links and anchors resolve (.ci/doclinks.py, also run by .ci/run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _doclinks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_doclinks", ROOT / ".ci" / "doclinks.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


doclinks = _doclinks()


def test_every_page_of_the_repository_links_to_what_exists() -> None:
    checked = doclinks.pages()
    assert ROOT / "README.md" in checked
    assert any(path.parent == ROOT / "docs" for path in checked)
    assert doclinks.check(checked) == []


def test_a_missing_file_and_a_missing_anchor_are_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "pi.md").write_text("# The Pi\n\n## Step 1: install\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/pi.md#step-1-install) [gone](docs/nowhere.md)\n"
        "[bad anchor](docs/pi.md#step-2)\n"
        "```\n[in code](docs/ignored.md)\n```\n"
        "[site](https://example.org/x.md) [here](#top)\n# Top\n",
        encoding="utf-8",
    )
    problems = doclinks.check([page], tmp_path)
    assert problems == [
        "README.md:1: docs/nowhere.md (no such file)",
        "README.md:2: docs/pi.md#step-2 (no heading #step-2 there)",
    ]


def test_anchors_follow_githubs_slugs() -> None:
    text = "# Security and privacy\n## `--uri` and ports\n## Setup\n## Setup\n## What's new?\n"
    assert doclinks.anchors(text) == {
        "security-and-privacy",
        "--uri-and-ports",
        "setup",
        "setup-1",
        "whats-new",
    }


def test_every_screenshot_of_the_docs_has_its_texts_and_a_page() -> None:
    """Each picture in docs/screenshots has its source (the texts it shows, which the e2e
    suite compares with the dialogs it sees) and is shown by a page: none can lag the UI
    unnoticed or linger unused."""
    folder = ROOT / "docs" / "screenshots"
    pictures = sorted(folder.glob("*.png"))
    assert pictures
    shown = "".join(page.read_text(encoding="utf-8") for page in doclinks.pages())
    for picture in pictures:
        source = picture.with_suffix(".txt")
        assert source.exists() and source.read_text(encoding="utf-8").strip(), source
        assert f"screenshots/{picture.name}" in shown, f"no page shows {picture.name}"
