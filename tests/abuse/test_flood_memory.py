"""Floods against the real server process: its memory stays bounded, a neighbour is served.

Each attack writes as fast as loopback TCP allows for ``FLOOD_S`` seconds; the bound is on
the server's peak resident memory (``VmHWM``) above what it used after one ordinary request.
Before the bounds, the audio flood grew the server by 1.5 GB, the absurd format with a
fallback by 1.2 GB and the mic header by 1.4 GB.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.abuse.bounds_helpers import (
    MIB,
    EmptyCapture,
    ServerProcess,
    StartProcess,
    flooding,
    loop_to,
    neighbour,
)
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer

FLOOD_S = 3.0
RSS_BOUND = 64 * MIB
TEXT = "what time is it"


async def _baseline(server: ServerProcess, pcm: bytes) -> int:
    """Return the server's memory after one ordinary request (imports, first session)."""
    answer = await neighbour(server.port, pcm)
    assert answer.text == TEXT
    return server.rss


async def _upstream_audio(emulator: QwenEmulator, sessions_before: int) -> None:
    """Wait until the flood's audio reaches the emulator (the attack is under way)."""
    async with asyncio.timeout(10):
        while not any(r.audio_bytes for r in emulator.sessions[sessions_before:]):
            await asyncio.sleep(0.02)


async def test_an_audio_flood_grows_the_server_by_at_most_64_mib_and_a_neighbour_is_served(
    server_process: StartProcess, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer([TEXT])
    server = await server_process()  # VAD mode, the default
    pcm = speech_pcm("what_time_is_it")
    baseline = await _baseline(server, pcm)
    sessions = len(emulator.sessions)
    async with flooding(server.port, FLOOD_S, loop_to(pcm, 32000)) as attack:
        await _upstream_audio(emulator, sessions)
        answer = await neighbour(server.port, pcm)
        assert not attack.done()  # served during the flood
    assert answer.text == TEXT
    flood = attack.result()
    assert flood.sent_bytes > 2 * MIB  # it did flow (far beyond the buffers), not stopped
    assert server.peak - baseline <= RSS_BOUND
    assert server.rss - baseline <= RSS_BOUND  # and after it left


async def test_a_silent_flood_paced_in_vad_mode_is_slowed_down_by_tcp(
    server_process: StartProcess, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Pace a flood with no speech for the recording path to cut in VAD mode.

    What the server does not send on, it does not read (bounded buffer, then TCP).
    """
    emulator.recognizer_factory = ScriptedRecognizer([TEXT])
    server = await server_process()
    baseline = await _baseline(server, speech_pcm("what_time_is_it"))
    sessions = len(emulator.sessions)
    async with flooding(server.port, FLOOD_S, bytes(32000)) as attack:
        await _upstream_audio(emulator, sessions)
    flood = attack.result()
    record = emulator.sessions[sessions]
    assert record.config.turn_detection is not None  # VAD mode
    # Upstream: real time since the session opened plus the pacer's lead and one append;
    # the client got no further than that plus the server's buffer and the kernel's socket
    # buffers (a few MB), not 3 s of loopback (GBs).
    assert record.audio_bytes <= (time.monotonic() - record.opened_at + 2 + 1) * 32000
    assert flood.sent_bytes <= 32 * MIB
    assert server.peak - baseline <= RSS_BOUND


async def test_an_absurd_declared_format_with_a_fallback_grows_the_server_by_at_most_64_mib(
    server_process: StartProcess,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    free_tcp_port: int,
) -> None:
    """384 kHz x 4 bytes x 32 channels: the held recording is bounded after conversion."""
    emulator.recognizer_factory = ScriptedRecognizer([TEXT])
    server = await server_process("--fallback-uri", f"tcp://127.0.0.1:{free_tcp_port}")
    pcm = speech_pcm("what_time_is_it")
    baseline = await _baseline(server, pcm)
    sessions = len(emulator.sessions)
    absurd = {"rate": 384_000, "width": 4, "channels": 32}
    async with flooding(server.port, FLOOD_S, loop_to(pcm, MIB), **absurd) as attack:
        await _upstream_audio(emulator, sessions)
        answer = await neighbour(server.port, pcm)
    assert answer.text == TEXT
    assert attack.result().sent_bytes > 32 * MIB  # it did flow (the raw bytes are not kept)
    assert server.peak - baseline <= RSS_BOUND


async def test_a_mic_client_announcing_700_mib_is_refused_without_buffering_it(
    server_process: StartProcess,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer([TEXT])
    capture = EmptyCapture(tmp_path)
    try:
        server = await server_process(mic_device=capture.device)
        assert server.mic_port is not None
        baseline = await _baseline(server, speech_pcm("what_time_is_it"))
        header = json.dumps({"type": "describe", "payload_length": 700 * MIB}).encode() + b"\n"
        async with flooding(
            server.mic_port, FLOOD_S, b"", opening=[], preamble=header, raw=bytes(MIB)
        ) as attack:
            pass
        flood = attack.result()
        assert flood.closed_by_server
        assert flood.error is not None and flood.error.code == "bad-request"
        assert "payload_length" in flood.error.text
        assert server.peak - baseline <= RSS_BOUND
    finally:
        capture.close()
