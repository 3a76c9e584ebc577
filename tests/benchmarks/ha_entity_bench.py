"""Home Assistant entity path: the same measures, through ``stt.py`` inside HA.

Runs in the Home Assistant test venv (not part of the default test run; ``run.py`` starts it):

    .venv-ha/bin/python -m pytest tests/benchmarks/ha_entity_bench.py -s -p no:cacheprovider

and writes ha_entity.json to $BENCH_OUT (default tests/benchmarks/results), which
``run.py`` merges into its report. The audio stream is an async generator paced in real
time, in pieces of one size (HA's pipeline: 10 ms); its end stands for Home Assistant's VAD
stopping the stream. The emulator runs on its own thread, so the process's CPU time minus
that thread's is what HA, the entity and the audio source cost. The floor: the same source
read and discarded, the least any speech-to-text entity costs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
    CONF_ENDPOINT,
    CONF_ENDPOINTING,
    CONF_HOME_CONTEXT,
    CONF_MODEL,
    CONF_REGION,
    CONF_SILENCE_MS,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    SUBENTRY_STT,
)
from custom_components.qwen_asr.realtime import ENDPOINTING_QWEN

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from bench_load import BYTES_PER_MS, Fixture, RequestTiming, chunk_bytes, load_fixture  # noqa: E402
from bench_metrics import collect  # noqa: E402
from bench_probe import Probe  # noqa: E402
from bench_thread import EmulatorThread  # noqa: E402

from tests.qwen_asr.conftest import pcm_metadata  # noqa: E402

CONCURRENCY = 10
FIXTURES = ("turn_on_kitchen_lights", "what_time_is_it", "set_temperature")
METADATA = pcm_metadata("en-US")
HA_SILENCE_MS = 1200  # as the Wyoming benchmark: the stream's end ends each request
QWEN_SILENCE_MS = 400  # Qwen endpointing: its VAD ends the request
BYTES_PER_S = BYTES_PER_MS * 1000


@dataclass(frozen=True)
class EntityPhase:
    name: str
    chunk_ms: int
    requests: int
    floor: bool = False
    qwen_endpointing: bool = False


PHASES = (
    EntityPhase("floor_10ms", 10, 40, floor=True),
    EntityPhase("entity_10ms", 10, 60),
    EntityPhase("floor_64ms", 64, 40, floor=True),
    EntityPhase("entity_64ms", 64, 40),
    EntityPhase("floor_100ms", 100, 40, floor=True),
    EntityPhase("entity_100ms", 100, 40),
    EntityPhase("entity_qwen_endpointing", 10, 40, qwen_endpointing=True),
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the repository's integration."""


@pytest.fixture(autouse=True)
def allow_loopback(socket_enabled: None) -> None:
    """The emulator listens on 127.0.0.1 (phcc still restricts connections to loopback)."""


async def _paced(pcm: bytes, timing: RequestTiming, chunk_ms: int) -> AsyncIterator[bytes]:
    start = time.monotonic()
    size = chunk_bytes(chunk_ms)
    for index, offset in enumerate(range(0, len(pcm), size)):
        delay = start + (index + 1) * chunk_ms / 1000 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        timing.chunk_sent.append(time.monotonic())  # the entity gets it at this yield
        yield pcm[offset : offset + size]
    timing.stop_sent = time.monotonic()  # the stream ends: HA's VAD heard the end


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Bench:
    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry, emulator: EmulatorThread):
        self.hass = hass
        self.entry = entry
        self.emulator = emulator
        self.entity: Any = next(iter(hass.data["stt"].entities))  # the only STT entity
        self.fixtures = [
            load_fixture(HERE.parents[1] / "tests" / "fixtures" / f"{n}.wav") for n in FIXTURES
        ]

    async def _one(self, phase: EntityPhase, timing: RequestTiming, fixture: Fixture) -> None:
        stream = _paced(fixture.pcm, timing, phase.chunk_ms)
        if phase.floor:
            async for _ in stream:
                pass
            timing.transcript_at = time.monotonic()
            return
        result = await self.entity.internal_async_process_audio_stream(METADATA, stream)
        timing.transcript_at = time.monotonic()
        timing.text = result.text
        if result.result is not stt.SpeechResultState.SUCCESS:
            timing.error = "speech-to-text failed"

    async def run(self, phase: EntityPhase, probe: Probe) -> dict[str, Any]:
        silence = QWEN_SILENCE_MS if phase.qwen_endpointing else HA_SILENCE_MS
        # The settings of the entry's speech-to-text subentry, read at each recognition.
        [subentry] = self.entry.subentries.values()
        settings = {**subentry.data, CONF_SILENCE_MS: silence}
        if phase.qwen_endpointing:
            settings[CONF_ENDPOINTING] = ENDPOINTING_QWEN
        self.hass.config_entries.async_update_subentry(self.entry, subentry, data=settings)
        slots = asyncio.Semaphore(CONCURRENCY)
        timings: list[RequestTiming] = []
        tasks = []

        async def request(timing: RequestTiming, fixture: Fixture) -> None:
            try:
                await self._one(phase, timing, fixture)
            finally:
                slots.release()

        rss_before, cpu_before = _rss_mb(), time.process_time() - self.emulator.cpu_s()
        started = time.monotonic()
        for n in range(phase.requests):
            await slots.acquire()
            fixture = self.fixtures[n % len(self.fixtures)]
            size = chunk_bytes(phase.chunk_ms)
            timing = RequestTiming(
                f"{phase.name}-{n}", fixture.name, fixture.audio_s, size, len(fixture.pcm)
            )
            timings.append(timing)
            if not phase.floor:
                probe.next_tag = timing.tag  # for the session this request opens
            tasks.append(asyncio.create_task(request(timing, fixture)))
            if not phase.floor:
                async with asyncio.timeout(10):
                    while timing.tag not in probe.by_tag:
                        await asyncio.sleep(0.001)
        await asyncio.gather(*tasks)
        wall_s = time.monotonic() - started
        cpu_s = time.process_time() - self.emulator.cpu_s() - cpu_before
        # The floor opens no sessions: only its CPU time matters.
        samples = collect(
            [] if phase.floor else timings,
            probe,
            vad_silence_ms=silence if phase.qwen_endpointing else None,
        )
        audio_s = sum(len(t.chunk_sent) * t.chunk_bytes for t in timings) / BYTES_PER_S
        result = {
            "name": phase.name,
            "floor": phase.floor,
            "chunk_ms": phase.chunk_ms,
            "requests": phase.requests,
            "concurrency": CONCURRENCY,
            "qwen_endpointing": phase.qwen_endpointing,
            "wall_s": round(wall_s, 2),
            "audio_s": round(audio_s, 2),
            "cpu_s": round(cpu_s, 3),
            "cpu_s_per_audio_s": round(cpu_s / audio_s, 5) if audio_s else None,
            "rss_growth_mb": round(_rss_mb() - rss_before, 1),
            **({} if phase.floor else samples.to_json()),
        }
        print(
            f"{phase.name:>24}: CPU {result['cpu_s_per_audio_s']} s/audio-s, "
            f"{result.get('messages_per_audio_s', '-')} messages/s, "
            f"errors {len(samples.errors)}",
            flush=True,
        )
        return result


async def test_ha_entity_path(hass: HomeAssistant) -> None:
    # phcc runs the loop in debug mode with debug logging: both would dominate the timings.
    asyncio.get_running_loop().set_debug(False)
    logging.getLogger().setLevel(logging.WARNING)
    probe = Probe()
    with EmulatorThread(
        on_client_event=probe.on_client_event, on_server_event=probe.on_server_event
    ) as emulator:
        entry = MockConfigEntry(
            domain=DOMAIN,
            data={
                "api_key": "test-key",
                CONF_REGION: REGION_CUSTOM,
                CONF_ENDPOINT: emulator.url,
                CONF_MODEL: "qwen3-asr-flash-realtime",
            },
            subentries_data=[
                {
                    "data": {**DEFAULT_OPTIONS, CONF_HOME_CONTEXT: False},
                    "subentry_type": SUBENTRY_STT,
                    "title": "Qwen ASR",
                    "unique_id": None,
                }
            ],
            version=2,
            minor_version=1,
        )
        entry.add_to_hass(hass)
        assert await async_setup_component(hass, "homeassistant", {})
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        bench = Bench(hass, entry, emulator)
        names = os.environ.get("BENCH_PHASES")
        phases = [p for p in PHASES if names is None or p.name in names.split(",")]
        results = {phase.name: await bench.run(phase, probe) for phase in phases}
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    for result in results.values():
        assert result.get("errors", []) == [], result["errors"][:3]
    _write({"concurrency": CONCURRENCY, "phases": results})


def _write(result: dict[str, Any]) -> None:
    out = Path(os.environ.get("BENCH_OUT", HERE / "results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "ha_entity.json").write_text(json.dumps(result, indent=1) + "\n")
