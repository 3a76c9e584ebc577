"""Home Assistant entity path: the same hops, measured through ``stt.py`` inside HA.

Runs in the Home Assistant test venv (not part of the default test run):

    /tmp/havenv/bin/python -m pytest tests/benchmarks/ha_entity_bench.py -s -p no:cacheprovider

and writes ha_entity.json to $BENCH_OUT (default tests/benchmarks/results), which
``run.py`` merges into its report. The audio stream is an async generator paced in real
time; its end stands for Home Assistant's VAD stopping the stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import stt
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Before phcc's `hass` fixture shadows the repository's custom_components (see design.md).
import custom_components.qwen_asr  # noqa: F401
from custom_components.qwen_asr.const import (
    CONF_CONTEXT,
    CONF_ENDPOINT,
    CONF_HOME_CONTEXT,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
)

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_load import CHUNK_BYTES, CHUNK_MS, RequestTiming, load_fixture  # noqa: E402
from bench_metrics import (  # noqa: E402
    CHUNK_FORWARD,
    FINAL_TO_TRANSCRIPT,
    STOP_TO_FINISH,
    STOP_TO_TRANSCRIPT,
    collect,
)
from bench_probe import Probe  # noqa: E402

from tests.ha.conftest import pcm_metadata  # noqa: E402

REQUESTS = 60
CONCURRENCY = 10
FIXTURES = ("turn_on_kitchen_lights", "what_time_is_it", "set_temperature")
# The entity's names for the Wyoming measures.
NAMES = {
    STOP_TO_FINISH: "last_chunk_to_finish_ms",
    FINAL_TO_TRANSCRIPT: "completed_to_speech_result_ms",
    CHUNK_FORWARD: CHUNK_FORWARD,
    STOP_TO_TRANSCRIPT: "stream_end_to_speech_result_ms",
}
METADATA = pcm_metadata("en-US")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the repository's integration."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The emulator listens on 127.0.0.1 (phcc still restricts connections to loopback)."""


async def _paced(pcm: bytes, timing: RequestTiming) -> AsyncIterator[bytes]:
    start = time.monotonic()
    for index, offset in enumerate(range(0, len(pcm), CHUNK_BYTES)):
        delay = start + (index + 1) * CHUNK_MS / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        timing.chunk_sent.append(time.monotonic())  # the entity gets it at this yield
        yield pcm[offset : offset + CHUNK_BYTES]
    timing.stop_sent = time.monotonic()  # the stream ends: HA's VAD heard the end


async def test_ha_entity_path(hass: HomeAssistant, emulator: Any) -> None:
    # phcc runs the loop in debug mode with debug logging: both would dominate the timings.
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    probe = Probe()
    emulator.on_client_event = probe.on_client_event
    emulator.on_server_event = probe.on_server_event
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            "api_key": "test-key",
            CONF_REGION: REGION_CUSTOM,
            CONF_ENDPOINT: emulator.url,
            CONF_MODEL: "qwen3-asr-flash-realtime",
        },
        # As the Wyoming benchmark: the stream's end, not Qwen's VAD, ends each request.
        options={**DEFAULT_OPTIONS, CONF_HOME_CONTEXT: False, CONF_SILENCE_MS: 1200},
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity = next(iter(hass.data["stt"].entities))  # the only speech-to-text entity
    fixtures = [load_fixture(HERE.parents[1] / "tests" / "fixtures" / f"{n}.wav") for n in FIXTURES]
    slots = asyncio.Semaphore(CONCURRENCY)
    timings: list[RequestTiming] = []

    async def run(timing: RequestTiming, pcm: bytes) -> None:
        result = await entity.internal_async_process_audio_stream(METADATA, _paced(pcm, timing))
        timing.transcript_at = time.monotonic()
        timing.text = result.text
        if result.result is not stt.SpeechResultState.SUCCESS:
            timing.error = "speech-to-text failed"
        slots.release()

    tasks = []
    for n in range(REQUESTS):
        await slots.acquire()
        fixture = fixtures[n % len(fixtures)]
        timing = RequestTiming(f"ha-{n}", fixture.name, fixture.audio_s)
        timings.append(timing)
        # The tag travels as the context option, read when the request starts: change it
        # for the next request only once this one's session.update has arrived.
        options = {**entry.options, CONF_CONTEXT: timing.tag}
        hass.config_entries.async_update_entry(entry, options=options)
        tasks.append(asyncio.create_task(run(timing, fixture.pcm)))
        async with asyncio.timeout(10):
            while timing.tag not in probe.by_tag:
                await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)

    samples = collect(timings, probe)
    assert samples.errors == []
    result = {
        "requests": REQUESTS,
        "concurrency": CONCURRENCY,
        "held_chunks": samples.held_chunks,
        "summary": {NAMES[k]: v for k, v in samples.summaries().items()},
        "samples": {NAMES[k]: [round(x, 3) for x in v] for k, v in samples.samples.items()},
    }
    _write(result)
    for name, summary in result["summary"].items():
        print(f"{name}: {summary}")


def _write(result: dict[str, Any]) -> None:
    out = Path(os.environ.get("BENCH_OUT", HERE / "results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "ha_entity.json").write_text(json.dumps(result, indent=1) + "\n")
