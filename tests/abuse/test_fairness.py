"""Issue 28's fairness attacks, tried on the real server process over loopback sockets.

One device on the LAN must not take the server from the others: not its descriptors (idle
connections), not its session slots (slow audio), not the account's connections (a stream of
Transcribe events), not its log (malformed events). Each test asserts the bound and that a
neighbour (another address) is still served; the times it prints are for the report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from qwen_asr_realtime import QwenConnectionError, QwenRealtimeClient, SessionConfig, Timeouts
from qwen_asr_realtime.connection import open_socket
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Describe, Info

from tests.support.abuse.fair_helpers import (
    HOST,
    NEIGHBOUR,
    Connection,
    allow_many_open_files,
    begin_request,
    connect,
    counting_proxy,
    error_code,
    server_process,
    transcribe,
)
from wyoming_server.access import ClientFilter
from wyoming_server.addresses import ListenAddress
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.emulator.records import SessionRecord
from wyoming_server.server import QwenAsrServer
from wyoming_server.settings import ServerSettings

TEXT = "what time is it"
ATTACKERS = 300


@pytest.fixture
def pcm(emulator: QwenEmulator, speech_pcm: Callable[..., bytes]) -> bytes:
    """Return the neighbour's request; the emulator transcribes it as TEXT."""
    emulator.recognizer_factory = ScriptedRecognizer([TEXT])
    return speech_pcm("what_time_is_it")


async def _wait_closed(clients: list[Connection], count: int) -> list[list[Event]]:
    """Wait until ``count`` of ``clients`` were closed by the server; what each received."""
    reads = [asyncio.create_task(client.read_until_end()) for client in clients]
    try:
        async with asyncio.timeout(30):
            while sum(read.done() for read in reads) < count:
                await asyncio.wait(reads, return_when=asyncio.FIRST_COMPLETED)
        return [read.result() for read in reads if read.done()]
    finally:
        for read in reads:
            read.cancel()


async def test_three_hundred_idle_connections_under_ulimit_256_leave_room_for_a_neighbour(
    emulator: QwenEmulator, tmp_path: Path, pcm: bytes
) -> None:
    allow_many_open_files(ATTACKERS)
    async with server_process(emulator, tmp_path, open_files=256) as server:
        attackers = [await connect(server.port) for _ in range(ATTACKERS)]
        try:
            # Beyond --max-connections-per-client (32), each is answered and closed at once.
            refused = await _wait_closed(attackers, ATTACKERS - 32)
            codes = [error_code(events[0]) if events else None for events in refused]
            assert codes.count("too-many-connections") >= len(codes) // 2, codes
            text, seconds = await asyncio.wait_for(transcribe(server.port, pcm, NEIGHBOUR), 10)
            print(f"neighbour's transcript during 300 idle connections: {seconds:.2f} s")
            assert text == TEXT
        finally:
            for attacker in attackers:
                attacker.close()
        log = server.log_text()
        # One warning per address and minute, however many connections were refused.
        assert log.count("Refused a connection from 127.0.0.1") == 1, log


async def test_an_idle_connection_is_closed_after_the_idle_time(
    emulator: QwenEmulator, tmp_path: Path
) -> None:
    async with server_process(emulator, tmp_path, "--idle-seconds", "1") as server:
        silent = await connect(server.port)
        asked = await connect(server.port)
        await asked.send(Describe().event())  # what Home Assistant does, on its own connection
        started = time.monotonic()
        received = await asyncio.wait_for(
            asyncio.gather(silent.read_until_end(), asked.read_until_end()), 30
        )
        print(f"idle connections closed after {time.monotonic() - started:.2f} s")
        assert received[0] == []
        assert [event.type for event in received[1]] == [Info().event().type]


async def test_one_address_trickling_audio_holds_one_of_two_slots(
    emulator: QwenEmulator, tmp_path: Path, pcm: bytes
) -> None:
    async with server_process(emulator, tmp_path, "--max-sessions", "2") as server:
        holder = await begin_request(server.port)
        await _wait_for(lambda: len(emulator.sessions) == 1)
        second = await begin_request(server.port)  # the same address: beyond its share
        assert error_code(await asyncio.wait_for(second.read_answer(), 10)) == "busy"
        text, seconds = await asyncio.wait_for(transcribe(server.port, pcm, NEIGHBOUR), 10)
        print(f"neighbour's transcript beside a trickling slot holder: {seconds:.2f} s")
        assert text == TEXT
        holder.close()


async def test_requests_trickling_audio_are_ended_and_free_their_slots(
    emulator: QwenEmulator, tmp_path: Path, pcm: bytes
) -> None:
    flags = ("--max-sessions", "2", "--slow-audio-grace", "1")
    async with server_process(emulator, tmp_path, *flags) as server:
        # Two addresses (each within its share) take both slots, and send 2 bytes at a time:
        # often enough that the request's idle timeout (30 s) never ends them.
        holders = [
            await begin_request(server.port, source) for source in ("127.0.0.3", "127.0.0.4")
        ]
        await _wait_for(lambda: len(emulator.sessions) == 2)
        started = time.monotonic()
        trickles = [asyncio.create_task(_trickle(holder)) for holder in holders]
        try:
            answers = await asyncio.wait_for(
                asyncio.gather(*(holder.read_answer() for holder in holders)), 30
            )
        finally:
            for trickle in trickles:
                trickle.cancel()
        print(f"trickling requests ended after {time.monotonic() - started:.2f} s")
        assert [error_code(answer) for answer in answers] == ["audio-too-slow"] * 2
        text, seconds = await asyncio.wait_for(transcribe(server.port, pcm, NEIGHBOUR), 10)
        print(f"neighbour's transcript after the trickling requests ended: {seconds:.2f} s")
        assert text == TEXT


async def _trickle(client: Connection) -> None:
    with contextlib.suppress(ConnectionError):
        while True:
            await asyncio.sleep(0.2)
            await client.send(AudioChunk(16000, 2, 1, b"\0\0").event())


async def test_three_hundred_transcribes_open_at_most_twenty_qwen_sessions(
    emulator: QwenEmulator, tmp_path: Path
) -> None:
    request = (
        Transcribe(language="en").event(),
        AudioStart(16000, 2, 1).event(),
        AudioChunk(16000, 2, 1, bytes(3200)).event(),
    )
    # Each new Transcribe ends the request before it, often before its session is set up:
    # what reaches the service (and its per-account connection limit) is the connections.
    async with (
        counting_proxy(emulator) as upstream,
        server_process(emulator, tmp_path, endpoint=upstream.url) as server,
    ):
        client = await connect(server.port)
        with contextlib.suppress(ConnectionError):
            for _ in range(ATTACKERS):
                await client.send(*request)
        events = await asyncio.wait_for(client.read_until_end(), 30)
        assert [error_code(event) for event in events if error_code(event)] == ["rate-limited"]
        print(f"upstream connections opened by {ATTACKERS} Transcribes: {upstream.connections}")
        assert 0 < upstream.connections <= 20


async def test_transcribes_without_audio_open_no_qwen_session(
    emulator: QwenEmulator, tmp_path: Path
) -> None:
    async with server_process(emulator, tmp_path) as server:
        client = await connect(server.port)
        for _ in range(ATTACKERS):
            await client.send(Transcribe(language="en").event())
        await client.send(AudioStart(16000, 2, 1).event(), AudioStop().event())
        answer = await asyncio.wait_for(client.read_answer(), 10)
        assert answer is not None and Transcript.from_event(answer).text == ""
        client.close()
    assert emulator.sessions == []


async def test_a_nesting_bomb_gets_bad_request_and_a_bounded_log(
    emulator: QwenEmulator, tmp_path: Path
) -> None:
    depth = 100_000
    bomb = json.dumps({"type": "transcribe", "data_length": depth}).encode() + b"\n" + b"[" * depth
    async with server_process(emulator, tmp_path) as server:
        for _ in range(20):
            client = await connect(server.port)
            client.writer.write(bomb)
            events = await asyncio.wait_for(client.read_until_end(), 10)
            assert [error_code(event) for event in events] == ["bad-request"]
        log = server.log_text()
    print(f"server log after 20 nesting bombs: {len(log)} bytes")
    assert "Traceback" not in log and "RecursionError" not in log
    assert log.count("bad event") == 1, log  # rate-limited: once a minute per address


# -- the smaller points -------------------------------------------------------------------


def test_a_network_with_host_bits_set_is_refused_naming_the_network() -> None:
    with pytest.raises(ValueError, match=r"host bits set.*'0\.0\.0\.0/0'"):
        ClientFilter.parse("127.0.0.1/0")
    assert ClientFilter.parse("127.0.0.0/8").allows("127.0.0.9")


async def test_a_redirect_is_not_followed() -> None:
    """A redirect would take the audio (and, to ws://, the key's rule) to another host."""
    reached: list[str] = []

    async def elsewhere(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append("connected")
        writer.close()

    target = await asyncio.start_server(elsewhere, "127.0.0.2", 0)
    target_port = target.sockets[0].getsockname()[1]

    async def redirecting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        location = f"ws://127.0.0.2:{target_port}/api-ws/v1/realtime"
        writer.write(
            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    redirector = await asyncio.start_server(redirecting, HOST, 0)
    port = redirector.sockets[0].getsockname()[1]
    try:
        with pytest.raises(QwenConnectionError, match="redirect"):
            await open_socket(
                f"ws://{HOST}:{port}/api-ws/v1/realtime",
                "qwen3-asr-flash-realtime",
                "test-key",
                timeouts=Timeouts(connect=5),
                ssl_context=None,
                user_agent="test",
            )
    finally:
        redirector.close()
        target.close()
    assert reached == []


async def test_manual_mode_commits_at_most_sixty_seconds_of_audio(
    emulator: QwenEmulator,
) -> None:
    """--no-vad: one long append (a whole recording) is committed in pieces of <= 60 s."""
    per_commit: list[int] = []
    committed = 0

    def count(record: SessionRecord, event: dict[str, Any], _at: float) -> None:
        nonlocal committed
        if event.get("type") == "input_audio_buffer.commit":  # the appends before it counted
            per_commit.append(record.audio_bytes - committed)
            committed = record.audio_bytes

    emulator.on_client_event = count
    client = QwenRealtimeClient(
        "test-key", SessionConfig(vad=None), endpoint=emulator.url, timeouts=Timeouts(finish=30)
    )
    seconds = 150
    async with client:
        client.append_audio(bytes(seconds * 32000))
        await client.finish()
    print(f"seconds per commit: {[round(n / 32000, 1) for n in per_commit]}")
    assert sum(per_commit) == seconds * 32000
    assert max(per_commit) <= 60 * 32000


async def test_a_session_slot_is_free_as_soon_as_the_request_is_answered(
    emulator: QwenEmulator, pcm: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admit the next request the moment the transcript is read.

    Qwen's close handshake (a round trip to the service) may still be going on then.
    """
    handshake_done = asyncio.Event()
    real_close = QwenRealtimeClient.close

    async def slow_close(self: QwenRealtimeClient) -> None:
        await handshake_done.wait()
        await real_close(self)

    monkeypatch.setattr(QwenRealtimeClient, "close", slow_close)
    settings = ServerSettings(api_key="test-key", endpoint=emulator.url, max_sessions=1)
    server = QwenAsrServer(settings)
    await server.start(ListenAddress("tcp", host=HOST, port=0))
    try:
        first, _ = await transcribe(server.bound_port, pcm)
        second, _ = await transcribe(server.bound_port, pcm)
    finally:
        handshake_done.set()
        await server.stop(grace=2.0)
    assert (first, second) == (TEXT, TEXT)


async def _wait_for(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.02)


def test_fairness_flags_and_environment_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = build_settings(parse_args([]), "key")
    assert (defaults.max_connections, defaults.max_connections_per_client) == (128, 32)
    assert defaults.idle_connection_seconds == 60.0
    assert defaults.sessions_per_client == 4  # half of --max-sessions 8
    assert defaults.max_sessions_per_minute == 20
    assert (defaults.min_audio_rate, defaults.slow_audio_grace_seconds) == (0.5, 10.0)
    assert build_settings(parse_args(["--max-sessions", "3"]), "k").sessions_per_client == 2
    args = ["--max-connections", "9", "--max-connections-per-client", "3", "--idle-seconds", "5"]
    args += ["--max-sessions-per-client", "1", "--max-sessions-per-minute", "7"]
    args += ["--min-audio-rate", "0", "--slow-audio-grace", "2"]
    settings = build_settings(parse_args(args), "k")
    assert (settings.max_connections, settings.max_connections_per_client) == (9, 3)
    assert (settings.idle_connection_seconds, settings.sessions_per_client) == (5.0, 1)
    assert settings.max_sessions_per_minute == 7
    assert (settings.min_audio_rate, settings.slow_audio_grace_seconds) == (0.0, 2.0)
    monkeypatch.setenv("QWEN_ASR_MAX_CONNECTIONS_PER_CLIENT", "4")
    monkeypatch.setenv("QWEN_ASR_IDLE_SECONDS", "30")
    monkeypatch.setenv("QWEN_ASR_MAX_SESSIONS_PER_MINUTE", "5")
    settings = build_settings(parse_args([]), "key")
    assert settings.max_connections_per_client == 4
    assert (settings.idle_connection_seconds, settings.max_sessions_per_minute) == (30.0, 5)
