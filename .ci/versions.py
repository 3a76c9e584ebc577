"""The one version of a release, from every file that states it; they must agree.

``python3 .ci/versions.py [--tag vX.Y.Z] [--root DIR] [--notes]`` prints the version (with
``--notes``: the CHANGELOG's section of it, the release notes), or lists each file that
disagrees and exits 1. Standard library only: the release workflow runs it before
anything is built. The files: pyproject.toml (the Python package), the integration's
manifest.json (HACS), the add-on's config.yaml (the Supervisor passes it as BUILD_VERSION,
which the add-on's Dockerfile installs), the add-on's CHANGELOG.md (its newest heading), and
any image of this project named in build.yaml (today none: the add-on builds on Home
Assistant's Debian base).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ADDON = "wyoming_qwen_asr"
IMAGE = re.compile(r"\bwyoming-qwen-asr[\w./-]*:(?P<tag>[^\s\"']+)")


def stated_versions(root: Path) -> dict[str, str]:
    """Each file's statement of the version (file: version); a file without one says ''."""
    stated: dict[str, str] = {}
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    stated["pyproject.toml"] = str(pyproject["project"]["version"])
    manifest = json.loads(
        (root / "custom_components/qwen_asr/manifest.json").read_text(encoding="utf-8")
    )
    stated["custom_components/qwen_asr/manifest.json"] = str(manifest.get("version", ""))
    config = (root / ADDON / "config.yaml").read_text(encoding="utf-8")
    match = re.search(r"""^version:\s*["']?([^"'\s#]+)""", config, re.MULTILINE)
    stated[f"{ADDON}/config.yaml"] = match.group(1) if match else ""
    changelog = (root / ADDON / "CHANGELOG.md").read_text(encoding="utf-8")
    match = re.search(r"^## \[?v?([^\]\s]+)", changelog, re.MULTILINE)
    stated[f"{ADDON}/CHANGELOG.md"] = match.group(1) if match else ""
    build = (root / ADDON / "build.yaml").read_text(encoding="utf-8")
    for number, line in enumerate(build.splitlines(), 1):
        if (image := IMAGE.search(line.split("#", 1)[0])) is not None:
            stated[f"{ADDON}/build.yaml:{number}"] = image.group("tag")
    return stated


def release_notes(root: Path) -> str:
    """The newest section of the add-on's CHANGELOG.md, without its heading."""
    changelog = (root / ADDON / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.split(r"^## .*$", changelog, flags=re.MULTILINE)
    return sections[1].strip() + "\n" if len(sections) > 1 else ""


def disagreements(root: Path, tag: str | None = None) -> list[str]:
    """What disagrees with pyproject.toml's version (and with the tag, when given)."""
    stated = stated_versions(root)
    version = stated["pyproject.toml"]
    problems = [
        f"{where} says {found or 'nothing'!r}, pyproject.toml says {version!r}"
        for where, found in stated.items()
        if found != version
    ]
    if tag is not None and tag != f"v{version}":
        problems.append(f"tag {tag!r} is not 'v{version}' (pyproject.toml)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release tag, which must be v<version>")
    parser.add_argument("--root", type=Path, default=PROJECT, help="the checkout (default: this)")
    parser.add_argument("--notes", action="store_true", help="print the release notes instead")
    args = parser.parse_args(argv)
    if problems := disagreements(args.root, args.tag):
        for problem in problems:
            print(f"versions: {problem}", file=sys.stderr)
        return 1
    if args.notes:
        sys.stdout.write(release_notes(args.root))
    else:
        print(stated_versions(args.root)["pyproject.toml"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
