"""zeroconf: the server is advertised as ``_wyoming._tcp`` (loopback only in tests)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("zeroconf")

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from wyoming_server.zeroconf import SERVICE_TYPE, ZeroconfAdvertiser


async def test_service_is_discoverable() -> None:
    # A name of this run's own: two runs on one host would otherwise conflict over it.
    name = f"qwen-asr-test-{os.getpid()}"
    advertiser = ZeroconfAdvertiser(name, 10300, "127.0.0.1", interfaces=["127.0.0.1"])
    try:
        await advertiser.start()
    except OSError as err:  # no multicast on this host
        pytest.skip(f"mDNS unavailable: {err}")
    browser = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}")
        found = await info.async_request(browser.zeroconf, 3000)
        if not found:
            pytest.skip("mDNS queries are not answered on loopback here")
        assert info.port == 10300
        assert info.parsed_addresses() == ["127.0.0.1"]
    finally:
        await browser.async_close()
        await advertiser.stop()


def _netns_available() -> bool:
    try:
        result = subprocess.run(
            ["unshare", "--net", "ip", "link", "set", "lo", "up"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


async def test_an_mdns_failure_says_so_and_the_server_keeps_serving(tmp_path: Path) -> None:
    """A network without a multicast route (a private network namespace holding only its
    own loopback): advertising fails for real, the server says it is mDNS and answers."""
    if not _netns_available():
        pytest.skip("needs root for a private network namespace (unshare --net)")
    key = tmp_path / "key"
    key.write_text("test-key")
    key.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_")}
    server = [sys.executable, "-m", "wyoming_server", "--api-key-file", str(key)]
    server += ["--region", "ws://127.0.0.1:9/", "--uri", "tcp://0.0.0.0:10300", "--zeroconf"]
    # unshare execs the shell, which execs the server: its pid is the server's.
    proc = await asyncio.create_subprocess_exec(
        "unshare",
        "--net",
        "sh",
        "-c",
        'ip link set lo up && exec "$@"',
        "sh",
        *server,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    log = ""
    try:
        async with asyncio.timeout(30):
            while "over mDNS" not in log:
                line = await proc.stderr.readline()
                assert line, f"the server exited: {log}"
                log += line.decode()
        health = await asyncio.create_subprocess_exec(
            "nsenter",
            f"--net=/proc/{proc.pid}/ns/net",
            sys.executable,
            "-m",
            "wyoming_server",
            "health",
            "--uri",
            "tcp://127.0.0.1:10300",
            env=env,
        )
        async with asyncio.timeout(30):
            assert await health.wait() == 0  # still serving
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            rest = (await proc.stderr.read()).decode()
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log += rest
    assert (
        "Cannot advertise the server over mDNS (zeroconf): [Errno 101] Network is unreachable"
        in log
    )
    assert (
        "add the Wyoming Protocol integration in Home Assistant with this host and port 10300"
        in log
    )
    assert "Cannot listen" not in log
    assert log.count("WARNING") == 1
