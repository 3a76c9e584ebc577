"""Check the relative links and anchors of the project's Markdown pages, as GitHub renders them.

``python .ci/doclinks.py`` checks README.md, CONTRIBUTING.md, docs/ and the add-on's pages:
every relative link must name a file of the repository, and every ``#anchor`` a heading (or an
explicit ``<a id>``) of the page it points to. Links to other sites are not followed (CI has no
internet). Prints each broken link as ``page:line: target (why)`` and exits 1 if there is one.
Standard library only.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "CONTRIBUTING.md", "docs/*.md", "wyoming_qwen_asr/*.md")

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
# [text](target) and ![alt](target); the target ends at whitespace or the closing parenthesis.
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"")
_CODE_SPAN = re.compile(r"`[^`]*`")


def pages(root: Path = ROOT) -> list[Path]:
    """Return the Markdown pages that are checked, in a stable order."""
    found: set[Path] = set()
    for pattern in PAGES:
        found.update(path for path in root.glob(pattern) if path.is_file())
    return sorted(found)


def slug(heading: str) -> str:
    """Return GitHub's anchor for a heading's text."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text)
    text = text.strip().lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in " -_" or category[0] in "LN" or category == "Mn":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, line) of the lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def anchors(text: str) -> set[str]:
    """Return every anchor a page defines: heading slugs (numbered as GitHub does) and ids."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in _prose_lines(text):
        found.update(_EXPLICIT_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> Iterator[tuple[int, str]]:
    """Yield (line number, target) of every link on a page, code excluded."""
    for number, line in _prose_lines(text):
        prose = _CODE_SPAN.sub("", line)
        for pattern in (_INLINE_LINK, _HTML_LINK):
            for target in pattern.findall(prose):
                yield number, target
        reference = _REFERENCE_DEF.match(prose)
        if reference:
            yield number, reference.group(1)


def broken_links(page: Path, root: Path = ROOT) -> Iterator[str]:
    """Yield a line per broken relative link or anchor of one page."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(root).as_posix()
    for number, target in links(text):
        parts = urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue  # another site: not followed offline
        path, anchor = unquote(parts.path), unquote(parts.fragment)
        destination = (page.parent / path).resolve() if path else page
        if path and not destination.is_relative_to(root):
            yield f"{name}:{number}: {target} (outside the repository)"
            continue
        if not destination.exists():
            yield f"{name}:{number}: {target} (no such file)"
            continue
        if (
            anchor
            and destination.suffix == ".md"
            and anchor not in anchors(destination.read_text(encoding="utf-8"))
        ):
            yield f"{name}:{number}: {target} (no heading #{anchor} there)"


def check(paths: Iterable[Path], root: Path = ROOT) -> list[str]:
    """Return every broken link of these pages."""
    return [line for page in paths for line in broken_links(page, root)]


def main() -> int:
    """Check every page; print what is broken."""
    checked = pages()
    problems = check(checked)
    for line in problems:
        print(line)
    print(f"doclinks: {len(checked)} pages, {len(problems)} broken link(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
