"""Fixtures for the container suite: the server image and the add-on image, built once per
run with podman from a local Debian base, and unique container names that are cleaned up.

Skipped, with the reason, only where podman is not installed; ``.ci/run`` installs it."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.container.package_index import checkout_index
from tests.support.container.podman_helpers import (
    ROOT,
    Build,
    PodmanError,
    base_image,
    build,
    missing_reason,
    pip_secrets,
    podman,
)
from tests.support.container.supervisor_build import (
    SupervisorBuild,
    build_like_the_supervisor,
    local_base,
    supervisor_build,
)
from tests.support.fake_supervisor import supervisor

__all__ = ["supervisor"]

_HERE = Path(__file__).resolve().parent

# One tag per checkout: repeated runs reuse their layers, parallel checkouts do not collide.
_CHECKOUT = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
SERVER_TAG = f"localhost/wyoming-qwen-asr-test:{_CHECKOUT}"
ADDON_TAG = f"localhost/wyoming-qwen-asr-addon-test:{_CHECKOUT}"
ADDON_BASE_TAG = f"localhost/wyoming-qwen-asr-addon-test-base:{_CHECKOUT}"
BUILDS: dict[str, Build] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = missing_reason()
    for item in items:
        if Path(str(item.fspath)).parent == _HERE:
            # Building images on a fresh machine takes minutes; each call is bounded itself.
            item.add_marker(pytest.mark.timeout(1800))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for name, done in BUILDS.items():
        terminalreporter.write_line(
            f"{name} image {done.tag}: {done.size_bytes / 1e6:.0f} MB, built in "
            f"{done.seconds:.1f} s ({done.cached_steps} of {done.steps} steps cached)"
        )


@pytest.fixture(scope="session")
def server_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The repository's Dockerfile, FROM a local Debian bookworm with python3 + venv."""
    secrets = pip_secrets(tmp_path_factory.mktemp("pip"))
    try:
        BUILDS["server"] = build(ROOT, SERVER_TAG, build_args={"BASE": base_image()}, extra=secrets)
    except PodmanError as err:
        pytest.fail(str(err))
    return SERVER_TAG


@pytest.fixture(scope="session")
def addon_build() -> SupervisorBuild:
    """The add-on's build as the Supervisor makes it on this machine (build.yaml, config.yaml)."""
    return supervisor_build()


@pytest.fixture(scope="session")
def addon_image(addon_build: SupervisorBuild, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The add-on folder built as the Supervisor builds it, on the local stand-in for
    build.yaml's base, installing wyoming-qwen-asr from an index made from this checkout."""
    workdir = tmp_path_factory.mktemp("addon-build")
    try:
        with checkout_index(workdir / "index") as (index_url, _):
            base = local_base(base_image(), index_url, ADDON_BASE_TAG, workdir / "base")
            BUILDS["add-on"] = build_like_the_supervisor(addon_build, base, ADDON_TAG)
    except PodmanError as err:
        pytest.fail(str(err))
    return ADDON_TAG


@pytest.fixture
def container_name() -> Iterator[Callable[[], str]]:
    """Unique container (and secret) names; whatever was made under them is removed."""
    names: list[str] = []

    def _name() -> str:
        names.append(f"qwen-asr-test-{uuid.uuid4().hex[:10]}")
        return names[-1]

    yield _name
    for name in names:
        with contextlib.suppress(PodmanError):
            podman("rm", "--force", "--time", "5", name, check=False)
            podman("secret", "rm", name, check=False)
