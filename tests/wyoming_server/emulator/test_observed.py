"""The observed profile: the live service as public evidence shows it (docs/protocol.md),
and the switch back to the documented behaviour."""

from __future__ import annotations

import re

import pytest
from websockets.exceptions import ConnectionClosed

from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer
from wyoming_server.emulator import cli as emulator_cli
from wyoming_server.emulator.behaviour import PROFILE_ENV
from wyoming_server.emulator.revisions import HypothesisReviser

STARTED = "input_audio_buffer.speech_started"
STOPPED = "input_audio_buffer.speech_stopped"
COMMITTED = "input_audio_buffer.committed"
PARTIAL = "conversation.item.input_audio_transcription.text"
COMPLETED = "conversation.item.input_audio_transcription.completed"
FINISHED = "session.finished"
SILENCE_1S = b"\x00" * 32000
SCRIPT = "turn on the kitchen lights"
OBSERVED_ID = re.compile(r"^(event|item|sess)_[A-Za-z0-9-]{21}$")


@pytest.fixture(autouse=True)
def _observed(emulator: QwenEmulator) -> None:
    """Whatever QWEN_EMULATOR_PROFILE says, these tests are about the observed profile."""
    emulator.behaviour = Behaviour.profile("observed")
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])


def _types(events):
    return [e["type"] for e in events if e["type"] != PARTIAL]


async def test_partials_carry_the_whole_hypothesis_in_stash_revised_between_events(
    connect_client, speech_pcm
) -> None:
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    events = await client.recv_until(COMPLETED)
    partials = [e for e in events if e["type"] == PARTIAL]
    assert all(e["text"] == "" for e in partials)
    stashes = [e["stash"] for e in partials]
    # A fragment first ("tu"), a word first wrong ("thes") and then corrected.
    assert stashes[:4] == ["tu", "turn on", "turn on the", "turn on thes kitc"]
    assert "turn on the kitchen lig" in stashes
    assert stashes[-1] == SCRIPT  # the final refinement
    assert events[-1]["transcript"] == SCRIPT


def test_the_reviser_adds_a_full_stop_while_the_hypothesis_does_not_grow() -> None:
    reviser = HypothesisReviser()
    assert reviser.revise("what") == "wh"
    assert reviser.revise("what") == "what."
    assert reviser.revise("what time") == "what ti"


async def test_server_vad_ends_an_utterance_without_committed_or_item_created(
    connect_client, speech_pcm
) -> None:
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    assert _types(await client.recv_until(COMPLETED)) == [STARTED, STOPPED, COMPLETED]


async def test_the_other_observed_order_is_committed_without_speech_stopped(
    connect_client, emulator, speech_pcm
) -> None:
    emulator.behaviour = Behaviour.profile("observed", vad_end_events="committed-only")
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    assert _types(await client.recv_until(COMPLETED)) == [STARTED, COMMITTED, COMPLETED]


async def test_ids_are_a_prefix_and_21_characters_with_a_dash(connect_client, speech_pcm) -> None:
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights") + SILENCE_1S)
    events = [client.received[0], *await client.recv_until(COMPLETED)]
    ids = [e["event_id"] for e in events] + [events[-1]["item_id"], events[0]["session"]["id"]]
    for value in ids:
        assert OBSERVED_ID.match(value), value
        assert "-" in value


async def test_session_updated_echoes_the_response_flags_and_created_the_rate(
    connect_client,
) -> None:
    client = await connect_client()
    assert client.received[0]["session"]["sample_rate"] == 16000
    updated = await client.update(turn_detection={"type": "server_vad"})
    turn = updated["session"]["turn_detection"]
    assert turn["create_response"] is True and turn["interrupt_response"] is True


async def test_the_service_does_not_close_after_session_finished(connect_client, emulator) -> None:
    client = await connect_client()
    assert [e["type"] for e in await client.finish()] == [FINISHED]
    with pytest.raises(TimeoutError):  # neither an event nor a close comes
        await client.recv(timeout=0.3)
    await client.ws.close()
    assert client.ws.close_code == 1000


async def test_pcm16_is_rejected_with_invalid_value(connect_client) -> None:
    client = await connect_client()
    error = await client.update(input_audio_format="pcm16")
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_value"
    assert error["error"]["param"] == "session.input_audio_format"


async def test_the_socket_closes_after_a_server_error(connect_client, emulator) -> None:
    emulator.faults.error_after_events = 2
    client = await connect_client()  # event 1: session.created
    assert (await client.update(sample_rate=16000))["type"] == "session.updated"
    error = await client.recv()
    assert error["error"]["type"] == "server_error"
    with pytest.raises(ConnectionClosed):
        await client.recv()
    assert client.ws.close_code == 1011


async def test_client_errors_keep_the_socket_open(connect_client) -> None:
    client = await connect_client()
    assert (await client.update(input_audio_format="pcm16"))["type"] == "error"
    assert (await client.update(sample_rate=16000))["type"] == "session.updated"


async def test_the_connection_cap_is_an_error_then_a_close(connect_client, emulator) -> None:
    emulator.faults.rate_limit = "connections"
    client = await connect_client(read_created=False)
    error = await client.recv()
    assert error["error"]["message"] == "connections too much max_connections 100"
    with pytest.raises(ConnectionClosed):
        await client.recv()


async def test_a_session_without_audio_for_the_idle_limit_is_closed(
    connect_client, emulator
) -> None:
    emulator.behaviour = Behaviour.profile("observed", idle_timeout_seconds=0.3)
    client = await connect_client()
    await client.append(bytes(3200))
    with pytest.raises(ConnectionClosed):
        await client.recv(timeout=5)
    assert client.ws.close_code == 1000
    assert client.ws.close_reason == "idle timeout"
    assert emulator.sessions[0].audio_bytes == 3200


async def test_a_drop_after_finish_comes_after_the_items_events(
    connect_client, emulator, speech_pcm
) -> None:
    emulator.faults.drop_after_finish = "after-items"
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights")[: 16000 * 2 * 2])
    await client.send("session.finish")
    events = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            events.append(await client.recv())
    assert info.value.rcvd is None  # aborted, no close frame
    assert _types(events) == [STARTED, STOPPED, COMPLETED]


async def test_a_drop_at_once_after_finish_loses_the_open_utterance(
    connect_client, emulator, speech_pcm
) -> None:
    emulator.faults.drop_after_finish = "at-once"
    client = await connect_client()
    await client.append(speech_pcm("turn_on_kitchen_lights")[: 16000 * 2 * 2])
    await client.send("session.finish")
    events = []
    with pytest.raises(ConnectionClosed):
        while True:
            events.append(await client.recv())
    assert _types(events) == [STARTED]
    assert emulator.sessions[0].dropped


async def test_the_profile_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "documented")
    assert QwenEmulator().behaviour == Behaviour.profile("documented")
    monkeypatch.delenv(PROFILE_ENV)
    assert QwenEmulator().behaviour == Behaviour()
    monkeypatch.setenv(PROFILE_ENV, "guessed")
    with pytest.raises(ValueError, match="observed, documented"):
        Behaviour.from_env()


def test_the_command_line_picks_a_profile_and_single_behaviours(monkeypatch) -> None:
    monkeypatch.setenv(PROFILE_ENV, "documented")
    parse = emulator_cli._parser().parse_args
    documented = emulator_cli.behaviour_of(parse([]))
    assert documented.close_grace_seconds == 2.0 and documented.partial_style == "text+stash"
    observed = emulator_cli.behaviour_of(
        parse(["--profile", "observed", "--idle-timeout-seconds", "5"])
    )
    assert observed.idle_timeout_seconds == 5.0 and observed.vad_end_events == "stopped-only"
    never = emulator_cli.behaviour_of(
        parse(["--profile", "observed", "--idle-timeout-seconds", "0"])
    )
    assert never.idle_timeout_seconds is None
