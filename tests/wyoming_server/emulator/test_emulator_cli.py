"""``python -m wyoming_server.emulator`` serves until SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest
from qwen_asr_realtime import QwenRealtimeClient, SessionConfig, SessionRefusedError, VadConfig
from websockets.asyncio.client import connect


async def test_cli_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server.emulator", "--port", "0", "--api-key", "k1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/api-ws/v1/realtime")
        async with connect(
            url + "?model=qwen3-asr-flash-realtime",
            additional_headers={"Authorization": "Bearer k1"},
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_cli_transcript_scripts_the_first_utterance(speech_pcm) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server.emulator", "--port", "0", "--api-key", "k1",
        "--transcript", "Turn on the kitchen lights.",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        config = SessionConfig(language="en", vad=VadConfig(0.2, 400))
        async with QwenRealtimeClient("k1", config, endpoint=url) as client:
            client.append_audio(speech_pcm("turn_on_kitchen_lights.wav"))
            finals = await client.finish()
        assert [f.transcript for f in finals] == ["Turn on the kitchen lights."]
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)


async def test_cli_transcript_needs_the_scripted_recognizer() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server.emulator", "--port", "0",
        "--recognizer", "pocketsphinx", "--transcript", "x",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"--transcript needs --recognizer scripted" in stderr


async def test_cli_model_limits_the_accepted_models() -> None:
    """``--model``: only the named models are known (a retired snapshot is refused)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wyoming_server.emulator", "--port", "0",
        "--model", "qwen3-asr-flash-realtime",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        async with QwenRealtimeClient("k1", SessionConfig(), endpoint=url):
            pass
        retired = SessionConfig(model="qwen3-asr-flash-realtime-2025-10-27")
        with pytest.raises(SessionRefusedError):
            async with QwenRealtimeClient("k1", retired, endpoint=url):
                pass
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
