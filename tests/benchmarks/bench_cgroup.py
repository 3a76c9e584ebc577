"""A Raspberry-Pi-class CPU budget: a cgroup v1 CPU quota for one process.

``cpu.cfs_quota_us=25000`` per ``cpu.cfs_period_us=100000`` is a quarter of one core. Needs
root and the cgroup v1 ``cpu`` controller mounted at /sys/fs/cgroup/cpu; the group is
removed again on exit (its processes moved back to the root group first).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from types import TracebackType
from typing import Self

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
QUARTER_CORE_US = 25_000
PERIOD_US = 100_000


def available() -> str | None:
    """None if a quota can be set here; otherwise why not."""
    if os.geteuid() != 0:
        return "needs root"
    if not (CPU_ROOT / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {CPU_ROOT}"
    return None


class CpuQuota:
    """``with CpuQuota(pid): ...`` limits that process (and its future children)."""

    def __init__(self, pid: int, quota_us: int = QUARTER_CORE_US) -> None:
        self.pid = pid
        self.quota_us = quota_us
        self.path = CPU_ROOT / f"qwen-bench-{os.getpid()}-{pid}"

    def __enter__(self) -> Self:
        self.path.mkdir()
        (self.path / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
        (self.path / "cpu.cfs_quota_us").write_text(f"{self.quota_us}\n")
        (self.path / "cgroup.procs").write_text(f"{self.pid}\n")
        return self

    def throttled(self) -> dict[str, int]:
        """cpu.stat: nr_periods, nr_throttled, throttled_time (ns)."""
        stat = (self.path / "cpu.stat").read_text().split()
        return {stat[i]: int(stat[i + 1]) for i in range(0, len(stat) - 1, 2)}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.path.exists():
            return
        for pid in (self.path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):  # the process has exited meanwhile
                (CPU_ROOT / "cgroup.procs").write_text(f"{pid}\n")
        self.path.rmdir()
