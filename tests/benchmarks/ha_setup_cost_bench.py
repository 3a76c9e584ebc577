"""What the account check costs at every Home Assistant start: config entry setup time.

Runs in the Home Assistant test venv (not part of the default test run):

    .venv-ha/bin/python -m pytest tests/benchmarks/ha_setup_cost_bench.py -s -p no:cacheprovider

Sets the entry up through Home Assistant's own ``async_setup``, against the emulator behind a
loopback proxy that delays every chunk by half a round trip each way (a model of the
distance to the region), with and without the check. Prints the median per round-trip time
and how many round trips the check takes. Numbers, not assertions: see the README.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Before phcc's `hass` fixture shadows the repository's custom_components.
import custom_components.qwen_asr  # noqa: F401
from custom_components.qwen_asr.const import (
    CONF_ENDPOINT,
    CONF_MODEL,
    CONF_REGION,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    SUBENTRY_STT,
)

RTTS_MS = (0, 50, 200)
RUNS = 5


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components."""


@pytest.fixture(autouse=True)
def allow_loopback_server(socket_enabled: None) -> None:
    """The emulator and the proxy listen on loopback."""


@contextlib.asynccontextmanager
async def latency_proxy(port: int, rtt_s: float) -> AsyncIterator[int]:
    """A loopback TCP proxy to ``port`` that delays each chunk by ``rtt_s / 2``."""

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await asyncio.sleep(rtt_s / 2)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def _setup_seconds(hass: HomeAssistant, endpoint: str) -> float:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_API_KEY: "test-key",
            CONF_REGION: REGION_CUSTOM,
            CONF_ENDPOINT: endpoint,
            CONF_MODEL: "qwen3-asr-flash-realtime",
        },
        subentries_data=[
            {
                "data": dict(DEFAULT_OPTIONS),
                "subentry_type": SUBENTRY_STT,
                "title": "Qwen ASR",
                "unique_id": None,
            }
        ],
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    elapsed = time.perf_counter() - started
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.config_entries.async_remove(entry.entry_id)
    return elapsed


async def test_setup_cost(hass: HomeAssistant, emulator: Any) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    rows = []
    for rtt_ms in RTTS_MS:
        async with latency_proxy(emulator.port, rtt_ms / 1000) as port:
            endpoint = f"ws://127.0.0.1:{port}/api-ws/v1/realtime"
            with_check = [await _setup_seconds(hass, endpoint) for _ in range(RUNS)]
            with patch("custom_components.qwen_asr.async_check_connection"):
                without = [await _setup_seconds(hass, endpoint) for _ in range(RUNS)]
        cost = statistics.median(with_check) - statistics.median(without)
        rows.append((rtt_ms, statistics.median(with_check), statistics.median(without), cost))
    print("\nConfig entry setup (median of", RUNS, "runs), emulator behind a latency proxy:")
    print(f"{'RTT ms':>7} {'setup ms':>9} {'no check ms':>12} {'check ms':>9} {'RTTs':>5}")
    for rtt_ms, with_s, without_s, cost in rows:
        trips = f"{cost * 1000 / rtt_ms:5.1f}" if rtt_ms else "    -"
        print(
            f"{rtt_ms:7d} {with_s * 1000:9.1f} {without_s * 1000:12.1f} {cost * 1000:9.1f} {trips}"
        )
    print(
        "The proxy does not delay TCP's own handshake; to a real region (wss://) add one"
        " round trip for TCP and one for TLS."
    )
    print("Sessions opened by the checks:", len(emulator.sessions), "audio bytes:",
          sum(s.audio_bytes for s in emulator.sessions))  # fmt: skip
