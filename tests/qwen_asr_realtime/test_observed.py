"""The client against the service as observed: idle closes, drops after session.finish,
the connection cap, revising stash-only partials."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from qwen_asr_realtime import (
    ConnectionCapError,
    Partial,
    QwenConnectionError,
    QwenRealtimeClient,
    RetryPolicy,
    SessionIdleError,
    SessionState,
    Timeouts,
)

from tests.support.session_helpers import KEY, append_all, session_client
from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer

KITCHEN = "turn on the kitchen lights"
TIMEOUTS = Timeouts(connect=3.0, setup=3.0, finish=10.0, close=1.0)
# 1.2 s of the kitchen command: 0.3 s of silence, then speech that goes on.
SPEAKING_BYTES = 16000 * 2 * 12 // 10


@pytest.fixture
async def service() -> AsyncIterator[QwenEmulator]:
    async with QwenEmulator(
        api_keys=frozenset({KEY}),
        recognizer_factory=ScriptedRecognizer([KITCHEN]),
        behaviour=Behaviour.profile("observed"),
    ) as emulator:
        yield emulator


def _client(emulator: QwenEmulator, **config: object) -> QwenRealtimeClient:
    return session_client(
        emulator, retry=RetryPolicy(delays=(0.05,), jitter=0), timeouts=TIMEOUTS, **config
    )


async def test_an_idle_close_is_classified_and_keeps_what_was_recognized(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    service.behaviour = Behaviour.profile("observed", idle_timeout_seconds=0.3)
    client = _client(service)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights")[:SPEAKING_BYTES])
        # The audio pauses mid-command: the service closes the idle session.
        with pytest.raises(SessionIdleError, match="idle limit"):
            async with asyncio.timeout(10):
                async for _event in client.events():
                    pass
        assert client.results.close_code == 1000
        assert client.results.recognized.startswith("turn on")
        assert not client.results.finals


async def test_a_drop_after_finish_with_every_item_final_is_a_success(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    service.faults.drop_after_finish = "after-items"
    client = _client(service)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        finals = await client.finish()
    assert [final.transcript for final in finals] == [KITCHEN]
    assert client.results.error is None
    assert service.sessions[0].dropped
    assert "session.finished" not in service.sessions[0].server_types


async def test_a_manual_session_dropped_after_finish_with_its_commits_final_succeeds(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    service.faults.drop_after_finish = "after-items"
    client = _client(service, vad=None)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        client.commit()
        append_all(client, speech_pcm("what_time_is_it"))
        finals = await client.finish()
    assert len(finals) == 2
    assert service.sessions[0].dropped


async def test_a_drop_after_finish_that_loses_an_item_is_a_failure(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """The utterance is still open at session.finish and its events never come."""
    service.faults.drop_after_finish = "at-once"
    client = _client(service)
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights")[:SPEAKING_BYTES])
        with pytest.raises(QwenConnectionError) as info:
            await client.finish()
    assert not isinstance(info.value, SessionIdleError)
    assert client.results.state is SessionState.FAILED


async def test_the_connection_cap_is_reported_with_its_number(service: QwenEmulator) -> None:
    service.faults.rate_limit = "connections"
    client = _client(service)
    with pytest.raises(ConnectionCapError) as info:
        async with client:
            pass
    assert info.value.limit == 100
    assert "maximum of 100 simultaneous connections" in str(info.value)
    assert client.connect_attempts == 2  # retried like any rate limit


async def test_stash_only_partials_reach_the_client_whole_and_revised(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    client = _client(service)
    previews: list[str] = []
    async with client:
        append_all(client, speech_pcm("turn_on_kitchen_lights"))
        client.end_session_nowait()
        async for event in client.events():
            if isinstance(event, Partial):
                assert event.text == ""
                previews.append(event.preview)
    assert any("kitc" in preview and "kitchen" not in preview for preview in previews)
    assert client.results.transcript == KITCHEN
