"""Fuzzing the Wyoming side: random event sequences, headers, lengths and audio formats.

Whatever a client sends, the server answers or closes that one connection, never logs an
unexpected exception, and a fresh connection still gets ``Info`` for ``Describe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qwen_asr_realtime import Timeouts
from wyoming.event import Event, async_read_event
from wyoming.info import Describe, Info

from tests.support.server_helpers import HOST, settings_for
from wyoming_server.addresses import ListenAddress
from wyoming_server.emulator import QwenEmulator
from wyoming_server.handler import QwenAsrEventHandler
from wyoming_server.info import build_info
from wyoming_server.limits import DEFAULT_MAX_SESSIONS
from wyoming_server.server import QwenAsrServer
from wyoming_server.wire import MAX_DATA_BYTES, MAX_PAYLOAD_BYTES

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FAST = Timeouts(connect=2, setup=2, finish=2, close=0.5)

# -- strategies ---------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
# Mostly plausible values, sometimes anything: finds type confusion in the handler.
rates = st.sampled_from([16000, 8000, 44100, 48000, 22050]) | st.integers(-5, 10**7) | json_values
widths = st.sampled_from([1, 2, 3, 4]) | st.integers(-2, 9) | json_values
channels = st.sampled_from([1, 2, 6]) | st.integers(-1, 40) | json_values
EVENT_TYPES = [
    "describe",
    "transcribe",
    "audio-start",
    "audio-chunk",
    "audio-stop",
    "transcript",
    "error",
    "ping",
    "info",
]


@st.composite
def wyoming_events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from(EVENT_TYPES) | st.text(min_size=1, max_size=10))
    data: dict[str, Any]
    if kind in ("audio-start", "audio-chunk"):
        data = {"rate": draw(rates), "width": draw(widths), "channels": draw(channels)}
        if draw(st.booleans()):
            del data[draw(st.sampled_from(sorted(data)))]
    elif kind == "transcribe":
        data = {
            "language": draw(st.sampled_from(["en", "en-US", "zh", "", "xx"]) | json_values),
            "name": draw(st.sampled_from(["qwen3-asr-flash-realtime", "other"]) | json_values),
            "context": draw(json_values),
        }
        if draw(st.booleans()):
            data["transcript_names"] = draw(json_values)
    else:
        data = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3))
    payload = draw(st.none() | st.binary(max_size=700))
    return Event(type=kind, data=data, payload=payload)


def encode(event: Event) -> bytes:
    """Wire bytes of an event, with the declared lengths always right."""
    header: dict[str, Any] = {"type": event.type, "version": "1.10.2"}
    data = json.dumps(event.data).encode() if event.data else b""
    if data:
        header["data_length"] = len(data)
    if event.payload is not None:
        header["payload_length"] = len(event.payload)
    return json.dumps(header).encode() + b"\n" + data + (event.payload or b"")


# Raw frames: headers that lie about lengths, are not JSON, or are cut short.
headers = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES) | json_values},
    optional={
        "data": json_values,
        "data_length": st.integers(-3, MAX_DATA_BYTES + 5) | json_values,
        "payload_length": st.integers(-3, 2**41) | json_values,
        "version": json_values,
    },
)
raw_frames = st.one_of(
    headers.map(lambda h: json.dumps(h).encode() + b"\n"),
    st.tuples(headers, st.binary(max_size=300)).map(
        lambda hb: json.dumps(hb[0]).encode() + b"\n" + hb[1]
    ),
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode() + b"\n"),
    st.just(b'{"type": "audio-chunk", "payload_length": %d}\n' % (MAX_PAYLOAD_BYTES + 1)),
    st.just(b'{"type": "audio-chunk", "data_length": 10}\n{"rate"'),  # truncated
)


# -- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
async def fuzz_server(emulator: QwenEmulator) -> AsyncIterator[int]:
    """One server for all examples of a test: it must survive every one of them.

    Every example comes from 127.0.0.1: the per-client fairness limits are lifted, or the
    examples after the twentieth in a minute would only meet the opening rate limit.
    """
    settings_ = settings_for(
        emulator,
        timeouts=FAST,
        request_idle_seconds=2.0,
        max_sessions_per_client=DEFAULT_MAX_SESSIONS,
        max_sessions_per_minute=None,
    )
    server = QwenAsrServer(settings_)
    await server.start(ListenAddress("tcp", host=HOST, port=0))
    yield server.bound_port
    await server.stop(grace=2.0)


def _unexpected(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that show an exception the server did not expect."""
    return [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR or "Unexpected error" in record.getMessage()
    ]


async def assert_describe_answered(port: int) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(encode(Describe().event()))
        await writer.drain()
        async with asyncio.timeout(5):
            while True:
                event = await async_read_event(reader)
                assert event is not None, "the server closed a fresh connection"
                if Info.is_type(event.type):
                    return
    finally:
        writer.close()


async def exchange(port: int, data: bytes, timeout: float = 8.0) -> bytes:
    """Send ``data``, half-close, and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        with contextlib.suppress(ConnectionError):
            writer.write(data)
            await writer.drain()
            writer.write_eof()
        async with asyncio.timeout(timeout):
            with contextlib.suppress(ConnectionError):
                return await reader.read()
        return b""
    finally:
        writer.close()


# -- against the handler ------------------------------------------------------------------


@FUZZ
@given(events=st.lists(wyoming_events(), max_size=8))
async def test_handler_survives_random_event_sequences(
    emulator: QwenEmulator, caplog: pytest.LogCaptureFixture, events: list[Event]
) -> None:
    """The handler's own loop, fed by a socket pair: it ends cleanly whatever it reads."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=theirs)
    peer_reader, peer_writer = await asyncio.open_connection(sock=ours)
    settings_ = settings_for(emulator, timeouts=FAST, request_idle_seconds=2.0)
    handler = QwenAsrEventHandler(reader, writer, settings=settings_, info=build_info(settings_))
    try:
        for event in events:
            peer_writer.write(encode(event))
        peer_writer.write_eof()
        async with asyncio.timeout(15):
            await handler.run()
            # Whatever it answered is well-formed Wyoming.
            while (answer := await async_read_event(peer_reader)) is not None:
                assert answer.type in {
                    "info",
                    "transcript-start",
                    "transcript-chunk",
                    "transcript",
                    "transcript-stop",
                    "error",
                }
    finally:
        peer_writer.close()
        writer.close()
    assert _unexpected(caplog) == []


# -- over a real socket -------------------------------------------------------------------


@FUZZ
@given(events=st.lists(wyoming_events(), min_size=1, max_size=6))
async def test_server_survives_random_events_over_tcp(
    fuzz_server: int, caplog: pytest.LogCaptureFixture, events: list[Event]
) -> None:
    await exchange(fuzz_server, b"".join(encode(event) for event in events))
    await assert_describe_answered(fuzz_server)
    assert _unexpected(caplog) == []


@FUZZ
@given(frames=st.lists(raw_frames, min_size=1, max_size=4))
async def test_server_survives_malformed_frames(
    fuzz_server: int, caplog: pytest.LogCaptureFixture, frames: list[bytes]
) -> None:
    await exchange(fuzz_server, b"".join(frames))
    await assert_describe_answered(fuzz_server)
    assert _unexpected(caplog) == []


@settings(FUZZ, max_examples=30)
@given(
    rate=rates,
    width=widths,
    channels=channels,
    chunk=st.binary(max_size=999),
    switch=st.booleans(),
)
async def test_any_audio_format_gets_an_answer(
    fuzz_server: int,
    caplog: pytest.LogCaptureFixture,
    rate: Any,
    width: Any,
    channels: Any,
    chunk: bytes,
    switch: bool,
) -> None:
    """A request in any declared format (and odd payload lengths) ends in an answer."""
    audio = {"rate": rate, "width": width, "channels": channels}
    events = [
        Event("transcribe", {"language": "en"}),
        Event("audio-start", audio),
        Event("audio-chunk", audio, chunk),
    ]
    if switch:  # the format changes mid-stream
        events.append(Event("audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, chunk))
    events.append(Event("audio-stop"))
    answer = await exchange(fuzz_server, b"".join(encode(event) for event in events))
    assert b'"transcript"' in answer or b'"error"' in answer
    await assert_describe_answered(fuzz_server)
    assert _unexpected(caplog) == []


async def test_server_survives_many_fuzzed_clients_at_once(
    fuzz_server: int, speech_pcm: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage and good requests interleaved on concurrent connections."""
    good = [
        Event("transcribe", {"language": "en"}),
        Event("audio-start", {"rate": 16000, "width": 2, "channels": 1}),
        Event(
            "audio-chunk", {"rate": 16000, "width": 2, "channels": 1}, speech_pcm("what_time_is_it")
        ),
        Event("audio-stop"),
    ]
    good_bytes = b"".join(encode(event) for event in good)
    bad = [b"\xff" * 100 + b"\n", b'{"type": "audio-chunk", "payload_length": 99}\n\x00', b"{}\n"]
    answers = await asyncio.gather(
        *(exchange(fuzz_server, good_bytes if i % 2 else bad[i % 3]) for i in range(12))
    )
    assert all(b'"transcript"' in a for a in answers[1::2])
    await assert_describe_answered(fuzz_server)
    assert _unexpected(caplog) == []


async def test_bad_frame_gets_an_error_without_an_unexpected_exception(
    fuzz_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: after a WireError the read loop used an unbound ``event`` and logged
    "Unexpected error" with a traceback, skipping the linger that protects the Error."""
    answer = await exchange(fuzz_server, b"\x00 not json\n")
    assert b'"error"' in answer and b"bad-request" in answer
    assert _unexpected(caplog) == []
