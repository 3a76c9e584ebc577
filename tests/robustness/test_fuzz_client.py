"""Fuzzing the protocol client with random, truncated and garbage service events.

A local WebSocket server on loopback answers the handshake, optionally confirms the
session, then sends whatever hypothesis draws. The client must end with a result or a
``QwenError`` subclass within its timeouts: never hang, never raise anything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qwen_asr_realtime import (
    ProtocolError,
    QwenError,
    QwenRealtimeClient,
    RedactingLogger,
    SessionConfig,
    Timeouts,
)
from qwen_asr_realtime.const import REALTIME_PATH, EventType
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from wyoming_server.emulator import QwenEmulator

KEY = "test-key"
FAST = Timeouts(connect=1.0, setup=1.0, finish=1.0, close=0.3)
# Longest a session may take: connect + setup + finish + close, plus scheduling slack.
BOUND = 10.0
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CREATED = {"type": EventType.SESSION_CREATED, "session": {"id": "sess_fuzz"}}
UPDATED = {"type": EventType.SESSION_UPDATED, "session": {"modalities": ["text"]}}
SERVER_TYPES = [
    EventType.ERROR,
    EventType.SESSION_CREATED,
    EventType.SESSION_UPDATED,
    EventType.SPEECH_STARTED,
    EventType.SPEECH_STOPPED,
    EventType.COMMITTED,
    EventType.ITEM_CREATED,
    EventType.PARTIAL,
    EventType.COMPLETED,
    EventType.FAILED,
    EventType.SESSION_FINISHED,
]
FIELDS = [
    "item_id",
    "text",
    "stash",
    "transcript",
    "language",
    "emotion",
    "audio_start_ms",
    "audio_end_ms",
    "previous_item_id",
    "session",
    "error",
    "event_id",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()  # NaN and infinities too: json.loads accepts them
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "code", "message", "type", "param"]), children)
    ),
    max_leaves=6,
)


@st.composite
def service_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"type": draw(st.sampled_from(SERVER_TYPES) | json_values)}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        event[name] = draw(json_values)
    return event


def _dumps(event: dict[str, Any]) -> str:
    return json.dumps(event)  # allow_nan: NaN/Infinity on the wire, as a broken peer may send


frames = st.one_of(
    service_events().map(_dumps),
    st.tuples(service_events(), st.integers(0, 60)).map(lambda e: _dumps(e[0])[: e[1]]),
    st.text(max_size=40),
    st.binary(max_size=40),
    json_values.map(_dumps),
)


@dataclass
class Script:
    handshake: bool = True  # send session.created/updated first
    frames: list[str | bytes] = field(default_factory=list)
    ending: str = "hang"  # hang | close | abort


class ScriptedService:
    """Speaks whatever the current script says, then hangs or closes."""

    def __init__(self) -> None:
        self.script = Script()

    async def handler(self, ws: ServerConnection) -> None:
        script = self.script
        try:
            await ws.recv()  # session.update
            if script.handshake:
                await ws.send(json.dumps(CREATED))
                await ws.send(json.dumps(UPDATED))
            for frame in script.frames:
                await ws.send(frame)
            if script.ending == "close":
                await ws.close(1011, "fuzz")
            elif script.ending == "abort":
                ws.transport.abort()
            else:
                async for _ in ws:  # read (and ignore) until the client goes
                    pass
        except ConnectionClosed:
            pass


@pytest.fixture
async def service() -> AsyncIterator[tuple[ScriptedService, str]]:
    scripted = ScriptedService()
    # websockets logs the handshake headers at debug level: mask the Authorization header.
    logger = RedactingLogger(logging.getLogger("fuzz-service"), KEY)
    async with serve(scripted.handler, "127.0.0.1", 0, compression=None, logger=logger) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield scripted, f"ws://127.0.0.1:{port}{REALTIME_PATH}"


async def run_session(url: str, config: SessionConfig | None = None) -> QwenError | None:
    """Connect, stream, finish; the QwenError it ended with, if any."""
    client = QwenRealtimeClient(
        KEY, config or SessionConfig(language="en"), endpoint=url, timeouts=FAST
    )
    try:
        async with asyncio.timeout(BOUND):  # a hang fails the test here
            try:
                await client.connect()
                client.append_audio(bytes(3200))
                await client.finish()
                _ = client.results.transcript
                async for _event in client.events():
                    pass
            except QwenError as err:
                return err
    finally:
        await client.close()
        assert not [
            t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-") and not t.done()
        ]
    return None


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.get_records("call") if r.levelno >= logging.ERROR]


@FUZZ
@given(
    handshake=st.booleans(),
    frames_=st.lists(frames, max_size=6),
    ending=st.sampled_from(["hang", "close", "abort"]),
    manual=st.booleans(),
)
async def test_random_service_events_end_in_a_qwen_error_or_a_result(
    service: tuple[ScriptedService, str],
    caplog: pytest.LogCaptureFixture,
    handshake: bool,
    frames_: list[str | bytes],
    ending: str,
    manual: bool,
) -> None:
    scripted, url = service
    scripted.script = Script(handshake, frames_, ending)
    config = SessionConfig(language="en", vad=None) if manual else None
    await run_session(url, config)  # any non-QwenError exception or a hang fails here
    assert _errors(caplog) == []


@pytest.mark.parametrize(
    "garbage",
    [
        "not json at all",
        '{"type": "conversation.item.input_audio_transcription.completed", "item_id": "i',
        b"\x00\x01binary",
        "[1, 2, 3]",
        '{"no": "type"}',
        '{"type": "input_audio_buffer.speech_started", "item_id": "i", "audio_start_ms": 1e999}',
        '{"type": "input_audio_buffer.speech_stopped", "item_id": "i", "audio_end_ms": NaN}',
        '{"type": "conversation.item.input_audio_transcription.completed", "item_id": "i", '
        '"transcript": ["not", "text"]}',
        '{"type": "conversation.item.input_audio_transcription.text", "item_id": "i", '
        '"text": 42, "stash": {}}',
    ],
    ids=[
        "text",
        "truncated",
        "binary",
        "list",
        "no-type",
        "infinite-ms",
        "nan-ms",
        "list-transcript",
        "number-text",
    ],
)
async def test_garbage_is_a_protocol_error(
    service: tuple[ScriptedService, str], garbage: str | bytes
) -> None:
    scripted, url = service
    scripted.script = Script(True, [garbage], "hang")
    error = await run_session(url)
    assert isinstance(error, ProtocolError), repr(error)


async def test_close_racing_the_connection_never_leaks_a_task() -> None:
    """Closing at every point of the connection sequence stops every task of the client.

    Regression: on Python 3.11 ``asyncio.wait_for`` can swallow the cancellation of the
    connect task when session.updated arrives in the same loop iteration; the send loop
    was then started after ``close()`` had collected the tasks, and leaked.
    """
    async with QwenEmulator(api_keys=frozenset({KEY})) as emulator:
        for steps in range(0, 160):
            client = QwenRealtimeClient(KEY, endpoint=emulator.url, timeouts=FAST)
            client.start()
            for _ in range(steps):
                await asyncio.sleep(0)
            await client.close()
            pending = [
                t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-") and not t.done()
            ]
            for task in pending:
                task.cancel()
            assert not pending, f"leaked {[t.get_name() for t in pending]} after {steps} steps"
