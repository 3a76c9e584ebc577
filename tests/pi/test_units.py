"""The Pi page's systemd units (docs/raspberry-pi.md): syntax and semantics checked by
``systemd-analyze verify``, their command lines by the programs' own parsers."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.pi.readme_blocks import units
from wyoming_server.cli.parser import parse_args

UNITS = ("wyoming-qwen-asr.service", "wyoming-qwen-asr-mic.service", "wyoming-satellite.service")


def exec_start(unit: str) -> list[str]:
    lines = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1
    return shlex.split(lines[0].removeprefix("ExecStart="))


def test_the_pi_page_has_the_three_units() -> None:
    assert tuple(units()) == UNITS


@pytest.mark.parametrize("name", UNITS[:2])
def test_our_command_lines_parse(name: str) -> None:
    argv = exec_start(units()[name])
    assert argv[0] == "/opt/wyoming-qwen-asr/bin/wyoming-qwen-asr"
    args = parse_args(argv[1:])
    if name == "wyoming-qwen-asr-mic.service":
        assert args.command == "mic" and args.mic_uri == "tcp://127.0.0.1:10301"
    else:
        assert args.command == "serve" and args.uri == "tcp://0.0.0.0:10300"


def test_the_satellite_reads_the_mic_service_over_loopback() -> None:
    argv = exec_start(units()["wyoming-satellite.service"])
    assert argv[0] == "/opt/wyoming-satellite/bin/wyoming-satellite"
    assert argv[argv.index("--mic-uri") + 1] == exec_start(units()[UNITS[1]])[3]
    assert "wyoming-qwen-asr-mic.service" in units()["wyoming-satellite.service"]


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """verify needs each ExecStart program to exist and be executable: the real ones are
    what the Pi recipe installs (run as written in the arm64 CI step), so a temporary root
    holds stand-ins at the same paths, plus this machine's own systemd units (targets)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:  # .ci/run installs it
        pytest.skip("needs systemd-analyze (Debian package systemd)")
    root = tmp_path / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    # A copy, not a symlink: the units' own relative symlinks must resolve inside the root.
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name, text in units().items():
        (root / "etc/systemd/system" / name).write_text(text)
        program = root / exec_start(text)[0].lstrip("/")
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(0o755)
    result = subprocess.run(
        [analyze, "verify", f"--root={root}", *UNITS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Warnings (an unknown key, a bad value) exit 0: any output fails the test too.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
