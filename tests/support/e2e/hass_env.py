"""Home Assistant installations for the end-to-end suite: one virtualenv per HA version.

HA 2025.4.4 (the declared minimum) runs from ``.venv-hass-2025.4.4`` on pyenv's Python
3.13.0. HA 2026.11.0 needs Python >= 3.14.2, which this machine only has inside the
Debian-testing root of ``.ci/ha-suite`` (made by ``.ci/debian-root``; Python 3.14.8): that venv
lives in the root at ``/opt/e2e-hass-2026.11.0`` and ``hass`` runs there with chroot
(``.ci/debian-root run``, which ends in exec: the PID we get is hass's own). A chroot shares
the network namespace, so both talk to the suite over loopback alike.

Each venv gets ``.ci/hass-VERSION-requirements.txt`` with ``.ci/hass-VERSION-constraints.txt``
(the resolved set) and is rebuilt when either file changes. Standard library only, so .ci/run
can prepare the installs before pytest: ``python tests/support/e2e/hass_env.py install VERSION...``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[3]
CI = PROJECT / ".ci"
ROOT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_VERSIONS = ("2025.4.4", "2026.11.0")


def _pyenv_python(version: str) -> str:
    root = (
        os.environ.get("PYENV_ROOT")
        or subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    return str(Path(root) / "versions" / version / "bin" / "python")


def _digest(*files: Path) -> str:
    sha = hashlib.sha256()
    for file in files:
        sha.update(file.read_bytes())
    return sha.hexdigest()[:16]


@dataclass(frozen=True)
class HassRuntime:
    """Where one HA version is installed and how its processes are started."""

    version: str
    chroot: Path | None  # .ci/ha-suite's Debian root, or None for a venv on this host
    venv: str  # path of the venv (inside the root when chroot is set)

    @property
    def requirements(self) -> Path:
        return CI / f"hass-{self.version}-requirements.txt"

    @property
    def constraints(self) -> Path:
        return CI / f"hass-{self.version}-constraints.txt"

    @property
    def tmp_base(self) -> Path:
        """Host directory for temporary config dirs (visible to hass at ``inner_path``)."""
        return self.chroot / "tmp" if self.chroot else Path(tempfile.gettempdir())

    def inner_path(self, host_path: Path) -> str:
        """The path hass sees for a host path under ``tmp_base``."""
        if self.chroot is None:
            return str(host_path)
        return "/" + str(host_path.resolve().relative_to(self.chroot.resolve()))

    def command(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """argv (first item: a program of the venv, e.g. ``hass``) as a host command line,
        with the environment to start it with (a chroot command gets a clean one inside)."""
        program = [f"{self.venv}/bin/{argv[0]}", *argv[1:]]
        host_env = dict(os.environ)
        for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
            host_env.pop(name, None)
        if self.chroot is None:
            return program, {**host_env, **(env or {})}
        return self._in_root(program, env), host_env

    def _in_root(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
        assert self.chroot is not None
        environment = {"PATH": f"{self.venv}/bin:{ROOT_PATH_ENV}", **(env or {})}
        return [
            str(CI / "debian-root"),
            "run",
            self.chroot.name,
            "--",
            "/usr/bin/env",
            *(f"{key}={value}" for key, value in environment.items()),
            *argv,
        ]

    def _stamp_path(self) -> Path:
        base = self.chroot / self.venv.lstrip("/") if self.chroot else Path(self.venv)
        return base / ".e2e-stamp"

    def is_installed(self) -> bool:
        stamp = self._stamp_path()
        return stamp.is_file() and stamp.read_text() == _digest(self.requirements, self.constraints)

    def install(self) -> None:
        """Create the venv and install the pinned set (skipped when already current)."""
        if self.is_installed():
            return
        print(f"e2e: installing Home Assistant {self.version} into {self.venv}", flush=True)
        if self.chroot is None:
            shutil.rmtree(self.venv, ignore_errors=True)
            python = os.environ.get("HA_PYTHON") or _pyenv_python("3.13.0")  # as .ci/run
            subprocess.run([python, "-m", "venv", self.venv], check=True)
            reqs = [str(self.requirements), str(self.constraints)]
        else:
            shutil.rmtree(self.chroot / self.venv.lstrip("/"), ignore_errors=True)
            staged = self.chroot / "tmp" / f"e2e-reqs-{self.version}"
            staged.mkdir(parents=True, exist_ok=True)
            for file in (self.requirements, self.constraints):
                shutil.copy(file, staged / file.name)
            reqs = [
                f"/tmp/{staged.name}/{self.requirements.name}",
                f"/tmp/{staged.name}/{self.constraints.name}",
            ]
            subprocess.run(
                self._in_root(["/usr/bin/python3.14", "-m", "venv", self.venv]), check=True
            )
        pip, env = self.command(
            ["python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        )
        subprocess.run([*pip, "-r", reqs[0], "-c", reqs[1]], check=True, env=env)
        self._stamp_path().write_text(_digest(self.requirements, self.constraints))


@functools.cache
def python314_root() -> Path:
    """.ci/ha-suite's Debian root with Python 3.14: made once, refreshed (resolv.conf, CA
    bundle) on each first use in a process."""
    done = subprocess.run(
        [str(CI / "ha-suite"), "root"], check=True, capture_output=True, text=True
    )
    return Path(done.stdout.strip().splitlines()[-1])


def runtime(version: str) -> HassRuntime:
    """The runtime of a supported version: Python 3.13 venv below 2026, the 3.14 root above."""
    if version.startswith("2025."):
        return HassRuntime(version, None, str(PROJECT / f".venv-hass-{version}"))
    return HassRuntime(version, python314_root(), f"/opt/e2e-hass-{version}")


def selected_versions() -> list[str]:
    """``QWEN_E2E_HA_VERSIONS=2025.4.4,2026.11.0`` (the default) picks the versions to test."""
    raw = os.environ.get("QWEN_E2E_HA_VERSIONS", ",".join(DEFAULT_VERSIONS))
    return [v.strip() for v in raw.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hass_env.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    install = sub.add_parser("install", help="create/refresh the venvs of these HA versions")
    install.add_argument("versions", nargs="*", default=None)
    freeze = sub.add_parser("freeze", help="print pip freeze of a version's venv")
    freeze.add_argument("version")
    args = parser.parse_args(argv)
    if args.command == "install":
        for version in args.versions or selected_versions():
            runtime(version).install()
        return 0
    cmd, env = runtime(args.version).command(["python", "-m", "pip", "freeze", "--all"])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
