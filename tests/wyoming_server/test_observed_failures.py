"""Failures as the live service shows them: an idle close, the connection cap, a drop
after session.finish. Each is answered for what it is, and nothing recognized is lost."""

from __future__ import annotations

from collections.abc import Callable

from qwen_asr_realtime import RetryPolicy
from wyoming.audio import AudioStop

from tests.support.server_helpers import (
    LIVE_AUDIO,
    Reply,
    StartServer,
    open_request,
    read_reply,
    send_audio,
    transcribe,
    wait_sessions_closed,
)
from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer
from wyoming_server.request import error_code

SCRIPT = "turn on the kitchen lights"
# 1.2 s of turn_on_kitchen_lights.wav: 0.3 s of silence, then speech that goes on.
SPEAKING_BYTES = 16000 * 2 * 12 // 10
SILENCE = bytes(3200)  # 100 ms


async def _reply_to(port: int, audio: bytes) -> Reply:
    """Send ``audio`` in one request, then nothing (no AudioStop): return the server's answer."""
    client = await open_request(port)
    try:
        await send_audio(client, audio)
        return await read_reply(client)
    finally:
        await client.disconnect()


async def test_a_pause_past_the_idle_limit_answers_what_was_recognized(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.behaviour = Behaviour.profile("observed", idle_timeout_seconds=0.3)
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])
    port = await start_server(audio=LIVE_AUDIO)
    client = await open_request(port)
    try:
        await send_audio(client, speech_pcm("turn_on_kitchen_lights")[:SPEAKING_BYTES])
        # The audio pauses; Qwen closes the idle session; the words heard are the answer.
        reply = await read_reply(client)
        assert reply.error is None
        assert reply.text is not None and reply.text.startswith("turn on")
        assert SCRIPT.startswith(reply.text.rstrip("."))
        assert emulator.sessions[0].close_code == 1000
        # The rest of the request's audio is ignored, and the request ends cleanly.
        await send_audio(client, bytes(3200))
        await client.write_event(AudioStop().event())
    finally:
        await client.disconnect()
    await wait_sessions_closed(emulator)


async def test_a_client_that_stops_sending_mid_command_gets_what_was_recognized(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """The client's audio stops for longer than the server waits (a stalled satellite):
    the words Qwen heard are the answer, not a bare timeout."""
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])
    port = await start_server(audio=LIVE_AUDIO, request_idle_seconds=1.0)
    reply = await _reply_to(port, speech_pcm("turn_on_kitchen_lights")[:SPEAKING_BYTES])
    assert reply.error is None
    assert reply.text is not None and reply.text.startswith("turn on")
    await wait_sessions_closed(emulator)


async def test_a_client_that_stops_before_any_word_gets_a_timeout(
    start_server: StartServer, emulator: QwenEmulator
) -> None:
    port = await start_server(audio=LIVE_AUDIO, request_idle_seconds=0.5)
    reply = await _reply_to(port, SILENCE)
    assert reply.error is not None and reply.error.code == "timeout"
    assert "No audio from the client" in reply.error.text


async def test_an_idle_close_with_nothing_recognized_is_a_timeout(
    start_server: StartServer, emulator: QwenEmulator
) -> None:
    emulator.behaviour = Behaviour.profile("observed", idle_timeout_seconds=0.3)
    reply = await _reply_to(await start_server(audio=LIVE_AUDIO), SILENCE)
    assert reply.error is not None
    assert reply.error.code == "timeout"
    assert "idle limit" in reply.error.text


async def test_the_connection_cap_is_a_rate_limit_with_its_number(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.faults.rate_limit = "connections"
    port = await start_server(retry=RetryPolicy(delays=(0.05,), jitter=0))
    reply = await transcribe(port, speech_pcm("what_time_is_it"))
    assert reply.error is not None
    assert reply.error.code == "rate-limited"
    assert "maximum of 100 simultaneous connections" in reply.error.text


async def test_a_drop_after_finish_with_every_item_final_answers_the_transcript(
    start_server: StartServer, emulator: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    emulator.faults.drop_after_finish = "after-items"
    emulator.recognizer_factory = ScriptedRecognizer([SCRIPT])
    port = await start_server(audio=LIVE_AUDIO)
    reply = await transcribe(port, speech_pcm("turn_on_kitchen_lights"))
    assert reply.error is None
    assert reply.text == SCRIPT
    assert emulator.sessions[0].dropped


def test_the_error_codes_of_the_observed_failures() -> None:
    """The classes the client raises map to their own codes, not service-error."""
    from qwen_asr_realtime import ConnectionCapError, SessionIdleError  # noqa: PLC0415

    assert error_code(SessionIdleError(1000, "idle timeout")) == "timeout"
    assert error_code(ConnectionCapError(100, "connections too much")) == "rate-limited"
