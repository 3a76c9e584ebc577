"""--max-sessions, --max-request-seconds and --daily-audio-minutes on a real server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from wyoming.audio import AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error

from tests.support.server_helpers import (
    StartServer,
    open_request,
    read_reply,
    send_audio,
    transcribe,
    wait_sessions_closed,
    wait_until,
)
from wyoming_server.audio_budget import read_usage, utc_today, write_usage
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.settings import Endpointing

SILENCE = b"\0" * 32000  # 1 s: the emulator's VAD ends the utterance


async def test_one_request_beyond_max_sessions_is_refused_as_busy(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    port = await start_server(max_sessions=3, max_sessions_per_client=3)
    clients = [await open_request(port) for _ in range(4)]
    # The three admitted requests say nothing until their audio ends: the first event
    # any client receives is the refusal.
    reads = {asyncio.create_task(c.read_event()): c for c in clients}
    done, pending = await asyncio.wait(reads, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1
    (first,) = done
    event = first.result()
    assert event is not None and Error.is_type(event.type)
    assert Error.from_event(event).code == "busy"
    refused = reads[first]
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    admitted = [c for c in clients if c is not refused]
    pcm = speech_pcm("what_time_is_it")

    async def finish(client: AsyncTcpClient) -> str | None:
        await send_audio(client, pcm)
        await client.write_event(AudioStop().event())
        reply = await read_reply(client)
        await client.disconnect()
        return reply.text

    assert await asyncio.gather(*(finish(c) for c in admitted)) == ["what time is it"] * 3
    await refused.disconnect()
    assert len(emulator.sessions) == 3
    await wait_sessions_closed(emulator)
    # The slots are free again.
    assert (await transcribe(port, pcm)).text == "what time is it"


async def test_a_request_at_max_request_seconds_gets_its_transcript_so_far(
    start_server: StartServer,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    port = await start_server(max_request_seconds=6.0)
    client = await open_request(port)
    await send_audio(client, speech_pcm("what_time_is_it") + SILENCE)
    # No AudioStop: the client keeps streaming (here: keeps the request open).
    reply = await read_reply(client, timeout=30)
    assert reply.text == "what time is it"
    assert reply.error is None
    assert "".join(reply.chunks) == "what time is it"
    assert "--max-request-seconds" in caplog.text
    await wait_sessions_closed(emulator)  # the Qwen session ended with the answer
    await client.disconnect()


async def test_an_answered_request_frees_its_session_slot_before_audio_stop(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """What counts is a held Qwen session: server endpointing ends it at the first
    utterance, while the client may still be streaming (no AudioStop yet)."""
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    port = await start_server(max_sessions=1, endpointing=Endpointing.QWEN)
    pcm = speech_pcm("what_time_is_it")
    streaming = await open_request(port)
    await send_audio(streaming, pcm + SILENCE)
    assert (await read_reply(streaming)).text == "what time is it"
    # The slot is freed once the session has closed (just after the answer).
    async with asyncio.timeout(10):
        while (reply := await transcribe(port, pcm)).error is not None:
            assert reply.error.code == "busy"
            await asyncio.sleep(0.05)
    assert reply.text == "what time is it"
    await streaming.disconnect()


def _wait_for_usage(path: Path) -> Callable[[], float | None]:
    return lambda: read_usage(path, utc_today())


async def test_a_tiny_daily_budget_ends_the_request_that_reaches_it_and_refuses_the_next(
    start_server: StartServer,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    state = tmp_path / "state" / "audio-usage.json"
    budget = {"daily_audio_seconds": 1.0, "state_file": state}
    pcm = speech_pcm("what_time_is_it")
    port = await start_server(**budget)
    assert "starting a new daily count" in caplog.text  # no file yet
    # 2.1 s of speech against 1 s: the transcript so far (what HA reads), then the Error.
    assert (await transcribe(port, pcm)).text == "what time is it"
    await wait_until(_wait_for_usage(state))
    used = read_usage(state, utc_today())
    assert used is not None and 1.0 <= used <= 2.0  # what went upstream: one append over
    assert used == pytest.approx(emulator.sessions[0].audio_bytes / 32000, abs=0.001)
    assert [p.name for p in state.parent.iterdir()] == [state.name]  # no temporary files

    second = await transcribe(port, pcm)
    assert second.error is not None and second.error.code == "budget-exceeded"
    assert "daily audio budget" in second.error.text
    assert len(emulator.sessions) == 1  # refused before any Qwen session

    # A restart keeps the count.
    port = await start_server(**budget)
    again = await transcribe(port, pcm)
    assert again.error is not None and again.error.code == "budget-exceeded"

    # A corrupt file starts a new count, and says so.
    state.write_text('{"day": "2026-', encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        port = await start_server(**budget)
    assert "unreadable: starting a new daily count" in caplog.text
    assert (await transcribe(port, pcm)).text == "what time is it"


def test_usage_of_another_day_is_no_usage_today(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    write_usage(path, date(2026, 11, 30), 120.0)
    assert read_usage(path, date(2026, 11, 30)) == 120.0
    assert read_usage(path, date(2026, 12, 1)) == 0.0
    for bad in ("[]", '{"day": "2026-12-01", "audio_seconds": -1}', "{", ""):
        path.write_text(bad, encoding="utf-8")
        assert read_usage(path, date(2026, 12, 1)) is None


def test_limit_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = build_settings(parse_args([]), "key")
    assert defaults.max_sessions == 8
    assert defaults.max_request_seconds == 300.0
    assert defaults.daily_audio_seconds is None
    args = ["--max-sessions", "2", "--max-request-seconds", "60", "--daily-audio-minutes", "1.5"]
    settings = build_settings(parse_args([*args, "--state-file", str(tmp_path / "s.json")]), "k")
    assert (settings.max_sessions, settings.max_request_seconds) == (2, 60.0)
    assert settings.daily_audio_seconds == 90.0
    assert settings.state_file == tmp_path / "s.json"
    monkeypatch.setenv("QWEN_ASR_MAX_SESSIONS", "5")
    monkeypatch.setenv("QWEN_ASR_DAILY_AUDIO_MINUTES", "10")
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    settings = build_settings(parse_args([]), "key")
    assert settings.max_sessions == 5 and settings.daily_audio_seconds == 600.0
    assert settings.state_file == tmp_path / "systemd" / "audio-usage.json"
