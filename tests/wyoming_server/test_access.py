"""--allow-clients: who may use the STT service (loopback is a whole /8 to test with)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import async_read_event, async_write_event

from tests.support.server_helpers import HOST, StartServer, transcribe
from wyoming_server.access import DEFAULT_FILTER, ClientFilter
from wyoming_server.cli.parser import parse_args
from wyoming_server.cli.settings import build_settings
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer


async def request_from(port: int, source: str) -> Error | None:
    """A Transcribe from ``source`` (a loopback address): the Error it gets, if any."""
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(source, 0))
    try:
        await async_write_event(Transcribe(language="en").event(), writer)
        async with asyncio.timeout(10):
            event = await async_read_event(reader)
            assert event is not None and Error.is_type(event.type)
            assert await async_read_event(reader) is None  # then the server closes
            return Error.from_event(event)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_a_client_outside_the_allowed_networks_gets_an_error(
    start_server: StartServer,
    emulator: QwenEmulator,
    speech_pcm: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = await start_server(allow_clients=ClientFilter.parse("127.0.0.3/32"))
    caplog.set_level(logging.WARNING, "wyoming_server.access")
    for _ in range(3):
        error = await request_from(port, "127.0.0.2")
        assert error is not None and error.code == "client-not-allowed"
    assert emulator.sessions == []  # refused before any Qwen session
    refusals = [r.getMessage() for r in caplog.records if "Refused" in r.getMessage()]
    assert len(refusals) == 1 and "127.0.0.2" in refusals[0]  # rate-limited per address


async def test_a_client_inside_the_allowed_networks_is_served(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    port = await start_server(allow_clients=ClientFilter.parse("127.0.0.3/32"))
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=("127.0.0.3", 0))
    pcm = speech_pcm("what_time_is_it")
    for event in (
        Transcribe(language="en").event(),
        AudioStart(16000, 2, 1).event(),
        AudioChunk(16000, 2, 1, pcm).event(),
        AudioStop().event(),
    ):
        await async_write_event(event, writer)
    try:
        async with asyncio.timeout(10):
            while (event := await async_read_event(reader)) is not None:
                if Transcript.is_type(event.type):
                    break
    finally:
        writer.close()
    assert event is not None and Transcript.from_event(event).text == "what time is it"


async def test_the_default_serves_loopback(
    port: int, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.text == "what time is it"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.20",
        "169.254.10.1",
        "fe80::1%eth0",
        "fd12:3456::1",
        "::ffff:192.168.1.2",  # an IPv4 client of a dual-stack socket
    ],
)
def test_the_default_allows_home_networks(address: str) -> None:
    assert DEFAULT_FILTER.allows(address)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "172.32.0.1", "100.64.0.1", "2001:db8::1", "::ffff:8.8.8.8", "not-an-ip"],
)
def test_the_default_refuses_public_addresses(address: str) -> None:
    assert not DEFAULT_FILTER.allows(address)


def test_unix_and_stdio_clients_have_no_address_and_are_allowed() -> None:
    assert ClientFilter.parse("127.0.0.3/32").allows(None)


def test_filter_specs() -> None:
    assert ClientFilter.parse("any").allows("8.8.8.8")
    both = ClientFilter.parse("private, 100.64.0.0/10")
    assert both.allows("100.100.1.1") and both.allows("192.168.0.1")
    assert not both.allows("8.8.8.8")
    assert ClientFilter.parse("203.0.113.7").allows("203.0.113.7")
    for bad in ("", "any,10.0.0.0/8", "10.0.0.0/33", "example.com"):
        with pytest.raises(ValueError, match="--allow-clients"):
            ClientFilter.parse(bad)


def test_allow_clients_from_the_command_line_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = build_settings(parse_args(["--allow-clients", "10.0.0.0/8"]), "key")
    assert settings.allow_clients.allows("10.9.9.9")
    assert not settings.allow_clients.allows("127.0.0.1")
    assert build_settings(parse_args([]), "key").allow_clients == DEFAULT_FILTER
    monkeypatch.setenv("QWEN_ASR_ALLOW_CLIENTS", "any")
    assert build_settings(parse_args([]), "key").allow_clients.allows("8.8.8.8")


def test_a_bad_allow_clients_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--allow-clients", "10.0.0.0/40"])
    assert exited.value.code == 2
    assert "--allow-clients" in capsys.readouterr().err
