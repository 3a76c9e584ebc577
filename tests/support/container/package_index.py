"""A package index made from this checkout, served on loopback: what the add-on's Dockerfile
installs from instead of the real one (``pip install wyoming-qwen-asr==VERSION``).

The checkout is built as a release is (``python -m build``: the sdist, then the wheel from
the sdist), its dependencies are downloaded for the add-on base's Python, and everything is
served as a PEP 503 "simple" index by a thread of this process.
"""

from __future__ import annotations

import contextlib
import html
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.container.podman_helpers import ROOT, PodmanError

BUILD_TIMEOUT = 600
# Debian bookworm's python3, the add-on base's Python.
BASE_PYTHON = "3.11"
_DISTRIBUTION = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-\d")


def normalize(name: str) -> str:
    """PEP 503 project name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _call(command: list[str]) -> None:
    try:
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=BUILD_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise PodmanError(f"{' '.join(command[:4])} took more than {BUILD_TIMEOUT} s") from None
    if done.returncode != 0:
        raise PodmanError(f"{' '.join(command[:4])} failed:\n{done.stderr[-4000:]}")


def build_distributions(dest: Path) -> list[Path]:
    """sdist and wheel of this checkout, as the release workflow makes them."""
    _call([sys.executable, "-m", "build", "--outdir", str(dest), str(ROOT)])
    made = sorted(dest.glob("wyoming_qwen_asr-*"))
    if not any(p.suffix == ".whl" for p in made) or not any(
        p.name.endswith(".tar.gz") for p in made
    ):
        raise PodmanError(
            f"python -m build made {[p.name for p in made]}, not an sdist and a wheel"
        )
    return made


def download_dependencies(wheel: Path, dest: Path) -> None:
    """The wheel's dependencies, binary only, for the base's Python, at CI's pinned versions."""
    _call(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--quiet",
            "--only-binary=:all:",
            f"--python-version={BASE_PYTHON}",
            "--constraint",
            str(ROOT / ".ci" / "constraints.txt"),
            "--dest",
            str(dest),
            str(wheel),
        ]
    )


def write_simple_index(files: Path) -> Path:
    """``files/simple/<project>/index.html`` linking each distribution file (PEP 503)."""
    projects: dict[str, list[Path]] = {}
    for path in sorted(files.iterdir()):
        if path.is_file() and (match := _DISTRIBUTION.match(path.name)):
            projects.setdefault(normalize(match.group("name")), []).append(path)
    simple = files / "simple"
    for project, paths in projects.items():
        page = simple / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        links = "".join(
            f'<a href="../../{html.escape(p.name)}">{html.escape(p.name)}</a>\n' for p in paths
        )
        page.write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n", "utf-8")
    return simple


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve folder on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="package-index", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """pytest shows the build's output when it fails; the request log adds nothing."""


@contextlib.contextmanager
def checkout_index(workdir: Path) -> Iterator[tuple[str, list[str]]]:
    """This checkout as a served simple index: yields (index URL, distribution file names)."""
    files = workdir / "files"
    files.mkdir(parents=True)
    made = build_distributions(files)
    wheel = next(p for p in made if p.suffix == ".whl")
    download_dependencies(wheel, files)
    write_simple_index(files)
    with serve(files) as url:
        yield f"{url}/simple/", [p.name for p in made]
