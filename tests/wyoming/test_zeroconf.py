"""zeroconf: the server is advertised as ``_wyoming._tcp`` (loopback only in tests)."""

from __future__ import annotations

import pytest

pytest.importorskip("zeroconf")

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from wyoming_server.zeroconf import SERVICE_TYPE, ZeroconfAdvertiser


async def test_service_is_discoverable() -> None:
    advertiser = ZeroconfAdvertiser("qwen-asr-test", 10300, "127.0.0.1", interfaces=["127.0.0.1"])
    try:
        await advertiser.start()
    except OSError as err:  # no multicast on this host
        pytest.skip(f"mDNS unavailable: {err}")
    browser = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
    try:
        info = AsyncServiceInfo(SERVICE_TYPE, f"qwen-asr-test.{SERVICE_TYPE}")
        found = await info.async_request(browser.zeroconf, 3000)
        if not found:
            pytest.skip("mDNS queries are not answered on loopback here")
        assert info.port == 10300
        assert info.parsed_addresses() == ["127.0.0.1"]
    finally:
        await browser.async_close()
        await advertiser.stop()
