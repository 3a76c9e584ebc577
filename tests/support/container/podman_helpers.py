"""podman for the container suite: local images only, every call bounded in time.

No image registry is reachable from CI, so the base image is made here: a Debian bookworm
root from ``debootstrap`` (python3 + python3-venv), imported with ``podman import``. The
tarball is cached under ``~/.cache/wyoming-qwen-asr`` (keyed by what it contains, written
atomically under a lock, so concurrent runs share it safely); a fresh machine makes it in a
few minutes. ``QWEN_ASR_TEST_BASE=<local image>`` uses another base instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
RUNC = "/usr/sbin/runc"
# podman as root on these machines: runc and cgroupfs (no systemd), raised limits on run.
GLOBAL_OPTIONS = ["--runtime", RUNC, "--cgroup-manager=cgroupfs"] if Path(RUNC).exists() else []
RUN_LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]

DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = ("python3", "python3-venv")
DEBIAN_MIRROR = os.environ.get("QWEN_ASR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wyoming-qwen-asr"

DEBOOTSTRAP_TIMEOUT = 900
BUILD_TIMEOUT = 1200
CALL_TIMEOUT = 120


class PodmanError(Exception):
    """A podman (or debootstrap) call failed; the message carries its output."""


def missing_reason() -> str | None:
    """Why the container suite cannot run here, or None."""
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman runc debootstrap)"
    return None


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PodmanError(f"{' '.join(command[:3])} took more than {timeout:.0f} s") from None


def podman(*args: str, timeout: float = CALL_TIMEOUT, check: bool = True) -> str:
    """Run one podman command; its stdout, or PodmanError with stderr when it fails."""
    done = _run(["podman", *GLOBAL_OPTIONS, *args], timeout)
    if check and done.returncode != 0:
        raise PodmanError(f"podman {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def logs(name: str) -> str:
    """A container's output: what it wrote to stdout and to stderr (the server logs there)."""
    done = _run(["podman", *GLOBAL_OPTIONS, "logs", name], CALL_TIMEOUT)
    return done.stdout + done.stderr


def exit_status(*args: str, timeout: float = CALL_TIMEOUT) -> int:
    return _run(["podman", *GLOBAL_OPTIONS, *args], timeout).returncode


def inspect(name: str) -> dict[str, Any]:
    data = json.loads(podman("inspect", name))
    assert isinstance(data, list) and data
    result: dict[str, Any] = data[0]
    return result


def image_exists(tag: str) -> bool:
    return exit_status("image", "exists", tag) == 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def base_image() -> str:
    """A local Debian bookworm image with python3 and python3-venv (made once, then cached)."""
    if chosen := os.environ.get("QWEN_ASR_TEST_BASE"):
        return chosen
    recipe = f"{DEBIAN_SUITE} minbase {','.join(DEBIAN_PACKAGES)} {DEBIAN_MIRROR}"
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    tag = f"localhost/wyoming-qwen-asr-test-base:{DEBIAN_SUITE}-{key}"
    if image_exists(tag):
        return tag
    with _locked(CACHE / "debootstrap.lock"):
        if image_exists(tag):  # made by a concurrent run meanwhile
            return tag
        tarball = CACHE / f"debootstrap-{DEBIAN_SUITE}-{key}.tar"
        if not tarball.exists():
            _debootstrap(tarball)
        podman(
            "import",
            "--change",
            f"ENV {BASE_PATH}",
            "--change",
            'CMD ["/bin/bash"]',
            str(tarball),
            tag,
            timeout=300,
        )
    return tag


def _debootstrap(tarball: Path) -> None:
    if shutil.which("debootstrap") is None:
        raise PodmanError(
            "the base image needs debootstrap (apt-get install debootstrap), "
            "or set QWEN_ASR_TEST_BASE to a local image with python3 and python3-venv"
        )
    root = tarball.with_name(f"{tarball.stem}.root-{os.getpid()}")
    shutil.rmtree(root, ignore_errors=True)
    started = time.monotonic()
    try:
        _call(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_PACKAGES)}",
                DEBIAN_SUITE,
                str(root),
                DEBIAN_MIRROR,
            ],
            DEBOOTSTRAP_TIMEOUT,
        )
        # What Debian's own images leave out: downloaded packages and package lists.
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        partial = tarball.with_suffix(".partial")
        _call(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], 300)
        partial.rename(tarball)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"debootstrap base made in {time.monotonic() - started:.0f} s", file=sys.stderr)


def _call(command: list[str], timeout: float) -> None:
    done = _run(command, timeout)
    if done.returncode != 0:
        raise PodmanError(f"{command[0]} failed ({done.returncode}):\n{done.stderr[-4000:]}")


def pip_secrets(folder: Path) -> list[str]:
    """``--secret`` options handing this machine's pip settings (index, CA bundle) to the
    build, for networks that re-sign TLS; nothing of them stays in the image."""
    listed = _run([sys.executable, "-m", "pip", "config", "list"], 60).stdout
    settings = dict(re.findall(r"^[^.\n]*\.([a-z-]+)='(.*)'$", listed, re.MULTILINE))
    lines = ["[global]"]
    options: list[str] = []
    if (index := settings.get("index-url", "")).startswith(("http://", "https://")):
        lines.append(f"index-url = {index}")
    cert = settings.get("cert")
    if cert and Path(cert).is_file():
        lines.append("cert = /run/secrets/pip_ca")
        options += ["--secret", f"id=pip_ca,src={cert}"]
    if len(lines) == 1:
        return []
    conf = folder / "pip.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["--secret", f"id=pip_conf,src={conf}", *options]


@dataclass(frozen=True)
class Build:
    tag: str
    seconds: float
    size_bytes: int
    cached_steps: int
    steps: int


def build(context: Path, tag: str, *, build_args: dict[str, str], extra: list[str]) -> Build:
    """``podman build`` in docker format (which keeps HEALTHCHECK), never pulling."""
    args = [f"--build-arg={name}={value}" for name, value in build_args.items()]
    started = time.monotonic()
    output = podman(
        "build",
        "--pull=never",
        "--format=docker",
        "--network=host",  # pip and apt reach their indexes as this machine does
        *args,
        *extra,
        "-t",
        tag,
        str(context),
        timeout=BUILD_TIMEOUT,
    )
    seconds = time.monotonic() - started
    size = int(podman("image", "inspect", "--format", "{{.Size}}", tag).strip())
    return Build(
        tag,
        seconds,
        size,
        cached_steps=output.count("--> Using cache"),
        # FROM steps are never "cached": count the others.
        steps=len(re.findall(r"STEP \d+/\d+: (?!FROM)", output)),
    )
