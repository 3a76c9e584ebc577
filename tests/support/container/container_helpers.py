"""Talking to the containers: HA-style Wyoming requests, the image's own health check."""

from __future__ import annotations

import asyncio

from wyoming.asr import Transcribe
from wyoming.audio import AudioStart, AudioStop
from wyoming.client import AsyncTcpClient

from tests.support.container.podman_helpers import exit_status, podman
from tests.support.server_helpers import HOST, Reply, read_reply, send_audio

KEY = "sk-test-secret-key"


async def transcribe_like_ha(port: int, pcm: bytes, language: str = "en") -> Reply:
    """One command as Home Assistant's wyoming integration sends it: Transcribe(language),
    then 10 ms AudioChunks (320 bytes) in real time, then AudioStop."""
    client = AsyncTcpClient(HOST, port)
    await client.connect()
    try:
        await client.write_event(Transcribe(language=language).event())
        await client.write_event(AudioStart(16000, 2, 1).event())
        await send_audio(client, pcm, chunk_ms=10, pace=0.01)
        await client.write_event(AudioStop().event())
        return await read_reply(client, timeout=30)
    finally:
        await client.disconnect()


async def wait_healthy(name: str, timeout: float = 60.0) -> None:
    """Run the image's HEALTHCHECK (``podman healthcheck run``) until it passes."""
    async with asyncio.timeout(timeout):
        while True:
            status = await asyncio.to_thread(exit_status, "healthcheck", "run", name)
            if status == 0:
                return
            running = await asyncio.to_thread(
                podman, "inspect", "--format", "{{.State.Running}}", name
            )
            if running.strip() != "true":
                raise AssertionError(await asyncio.to_thread(podman, "logs", name))
            await asyncio.sleep(0.5)
