"""A flood against ``--daily-audio-minutes``.

The budget counts what reached the service and ends the request that reaches it. Before, the
budget counted appends as they were built: a flood counted 3,541 s in under a second while
about 2 s reached the service, and was checked only when a request began.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from tests.support.abuse.bounds_helpers import Flood, StartProcess, flooding, loop_to
from wyoming_server.audio_budget import read_usage, utc_today
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer

FLOOD_S = 3.0
BUDGET_S = 3.0
TEXT = "what time is it"


def _ended(flood: Flood) -> bool:
    return flood.error is not None


async def test_a_flood_counts_what_reached_the_service_and_ends_at_the_budget(
    server_process: StartProcess,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer([TEXT] * 20)
    state = tmp_path / "audio-usage.json"
    server = await server_process(
        "--daily-audio-minutes", f"{BUDGET_S / 60:g}", "--state-file", str(state)
    )
    pcm = speech_pcm("what_time_is_it")
    async with flooding(server.port, FLOOD_S, loop_to(pcm, 32000), until=_ended) as attack:
        pass
    flood = attack.result()
    # The transcript so far (what Home Assistant reads), then why the request ended.
    assert flood.error is not None and flood.error.code == "budget-exceeded"
    assert "of 3 seconds sent" in flood.error.text  # not "0.1 of 0.05 minutes"
    assert flood.types.index("transcript") < flood.types.index("error")
    async with asyncio.timeout(10):
        while (counted := read_usage(state, utc_today())) is None:
            await asyncio.sleep(0.02)
    reached = sum(record.audio_bytes for record in emulator.sessions) / 32000
    assert counted <= reached + 2.0
    assert BUDGET_S <= counted <= BUDGET_S + 1.0  # overrun: one append of at most 1 s
