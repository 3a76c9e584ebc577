"""The add-on built as the Supervisor builds it (supervisor/addons/build.py,
``get_docker_args``): the add-on's own folder as the build context, its Dockerfile, the build
arguments BUILD_FROM (build.yaml's base for the machine's architecture), BUILD_VERSION
(config.yaml's version), BUILD_ARCH and build.yaml's ``args``, and the ``io.hass.*`` labels.

The test swaps only BUILD_FROM's image for a local one (no image registry here): the
debootstrapped Debian bookworm of podman_helpers, whose /etc/pip.conf names the package index
made from this checkout, as a machine's pip configuration would.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.container.podman_helpers import ROOT, Build, PodmanError, build, podman

ADDON = ROOT / "wyoming_qwen_asr"
# The Supervisor's names of this machine's architecture.
ARCH_OF_MACHINE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "aarch64", "arm64": "aarch64"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


@dataclass(frozen=True)
class SupervisorBuild:
    """What the Supervisor hands ``docker build`` for this add-on on one architecture."""

    context: Path
    base: str  # build.yaml's BUILD_FROM for the architecture
    build_args: dict[str, str]
    labels: dict[str, str]

    @property
    def version(self) -> str:
        return self.build_args["BUILD_VERSION"]


def supervisor_build(addon: Path = ADDON, arch: str | None = None) -> SupervisorBuild:
    arch = arch or ARCH_OF_MACHINE[platform.machine()]
    config = _load(addon / "config.yaml")
    spec = _load(addon / "build.yaml")
    if arch not in config["arch"]:
        raise PodmanError(
            f"the add-on does not support {arch} (config.yaml arch: {config['arch']})"
        )
    base = spec["build_from"][arch]
    version = str(config["version"])
    labels = {
        "io.hass.version": version,
        "io.hass.arch": arch,
        "io.hass.type": "addon",
        "io.hass.name": str(config["name"]).replace("'", ""),
        "io.hass.description": str(config["description"]).replace("'", ""),
        **spec.get("labels", {}),
    }
    if config.get("url"):
        labels["io.hass.url"] = str(config["url"])
    build_args = {
        "BUILD_FROM": base,
        "BUILD_VERSION": version,
        "BUILD_ARCH": arch,
        **{str(k): str(v) for k, v in spec.get("args", {}).items()},
    }
    return SupervisorBuild(addon, base, build_args, labels)


def local_base(debian: str, index_url: str, tag: str, workdir: Path) -> str:
    """The stand-in for build.yaml's base: the local Debian image, pip pointed at index_url."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pip.conf").write_text(f"[global]\nindex-url = {index_url}\n", encoding="utf-8")
    (workdir / "Containerfile").write_text(
        f"FROM {debian}\nCOPY pip.conf /etc/pip.conf\n", encoding="utf-8"
    )
    podman("build", "--pull=never", "-t", tag, str(workdir), timeout=300)
    return tag


def build_like_the_supervisor(plan: SupervisorBuild, base: str, tag: str) -> Build:
    """podman build of the add-on folder with the Supervisor's arguments, BUILD_FROM=base.

    No layer cache: a cached install step would hide a change of the checkout's package."""
    args = {**plan.build_args, "BUILD_FROM": base}
    labels = [f"--label={name}={value}" for name, value in plan.labels.items()]
    return build(plan.context, tag, build_args=args, extra=["--no-cache", *labels])
