"""The protocol client against the local Qwen-compatible service, over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator

import pytest
from qwen_asr_realtime import (
    AudioOptions,
    AuthenticationError,
    ConfigError,
    Final,
    Finished,
    Partial,
    ProtocolError,
    QwenConnectionError,
    QwenRealtimeClient,
    QwenTimeoutError,
    ServiceError,
    SessionConfig,
    SessionRefusedError,
    SessionState,
    SpeechStarted,
    SpeechStopped,
    Timeouts,
    VadConfig,
)
from qwen_asr_realtime.const import MAX_APPEND_BASE64_BYTES

from tests.support.ports import free_port
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer

KEY = "test-key"
FAST_VAD = VadConfig(threshold=0.2, silence_duration_ms=400)
SHORT = Timeouts(connect=2.0, setup=2.0, finish=3.0, close=1.0)


def _client(
    emulator: QwenEmulator,
    *,
    audio: AudioOptions | None = None,
    timeouts: Timeouts = SHORT,
    **config: object,
) -> QwenRealtimeClient:
    settings: dict[str, object] = {"language": "en", "vad": FAST_VAD}
    settings.update(config)
    return QwenRealtimeClient(
        KEY,
        SessionConfig(**settings),  # type: ignore[arg-type]
        endpoint=emulator.url,
        timeouts=timeouts,
        audio=audio,
    )


@pytest.fixture
async def scripted() -> AsyncIterator[QwenEmulator]:
    """An emulator whose recognizer answers two fixed transcripts per session."""
    recognizer = ScriptedRecognizer(["Turn on the kitchen lights.", "What time is it?"])
    async with QwenEmulator(api_keys=frozenset({KEY}), recognizer_factory=recognizer) as emu:
        yield emu


async def _stream(client: QwenRealtimeClient, pcm: bytes, chunk: int = 3200) -> None:
    for start in range(0, len(pcm), chunk):
        client.append_audio(pcm[start : start + chunk])
        await asyncio.sleep(0)


async def test_vad_session_with_two_utterances(scripted: QwenEmulator, speech_pcm) -> None:
    pcm = speech_pcm("two_commands.wav")
    client = _client(scripted)
    events: list[object] = []

    async def collect() -> None:
        async for event in client.events():
            events.append(event)

    async with client:
        reader = asyncio.create_task(collect())
        await _stream(client, pcm)
        finals = await client.finish()
        await asyncio.wait_for(reader, 2)

    assert [f.transcript for f in finals] == ["Turn on the kitchen lights.", "What time is it?"]
    assert client.results.transcript == "Turn on the kitchen lights. What time is it?"
    assert client.results.session_id and client.results.session_id.startswith("sess_")
    assert client.results.last_item_id == finals[-1].item_id
    assert finals[0].item_id != finals[1].item_id
    assert all(f.language == "en" for f in finals)
    started = [e for e in events if isinstance(e, SpeechStarted)]
    stopped = [e for e in events if isinstance(e, SpeechStopped)]
    assert len(started) == 2 and len(stopped) == 2
    # Offsets are real positions in the audio: the second utterance starts after the first ends.
    assert 0 < started[0].audio_start_ms < stopped[0].audio_end_ms < started[1].audio_start_ms
    assert stopped[1].audio_end_ms <= len(pcm) * 1000 // 32000
    assert isinstance(events[-1], Finished)
    assert client.results.state is SessionState.CLOSED


async def test_partials_are_growing_snapshots(scripted: QwenEmulator, speech_pcm) -> None:
    client = _client(scripted)
    partials: list[Partial] = []
    async with client:
        await _stream(client, speech_pcm("turn_on_kitchen_lights.wav"))
        client.end_session_nowait()
        async for event in client.events():
            if isinstance(event, Partial):
                partials.append(event)
    assert len(partials) >= 2
    assert len({p.item_id for p in partials}) == 1
    # Each event is a full snapshot: the stable text only grows, the preview never shrinks.
    for earlier, later in itertools.pairwise(partials):
        assert later.text.startswith(earlier.text)
        assert len(later.preview) >= len(earlier.preview)
    assert partials[-1].preview == "Turn on the kitchen lights."
    assert "Turn on the kitchen lights.".startswith(partials[0].preview)


async def test_manual_mode_commits(scripted: QwenEmulator, speech_pcm) -> None:
    pcm = speech_pcm("what_time_is_it.wav")
    client = _client(scripted, vad=None)
    async with client:
        assert client.commit() is False  # nothing appended yet: no empty commit is sent
        await _stream(client, pcm)
        assert client.commit() is True
        await _stream(client, pcm)
        finals = await client.finish()  # commits the second utterance itself
    assert [f.transcript for f in finals] == ["Turn on the kitchen lights.", "What time is it?"]
    record = scripted.sessions[-1]
    assert record.client_types.count("input_audio_buffer.commit") == 2


async def test_commit_is_refused_in_vad_mode(scripted: QwenEmulator) -> None:
    async with _client(scripted) as client:
        with pytest.raises(ConfigError):
            client.commit()


async def test_8khz_and_automatic_language(scripted: QwenEmulator, speech_pcm) -> None:
    pcm16k = speech_pcm("what_time_is_it.wav")
    pcm8k = b"".join(pcm16k[i : i + 2] for i in range(0, len(pcm16k), 4))  # decimate
    async with _client(scripted, sample_rate=8000, language=None) as client:
        await _stream(client, pcm8k, chunk=1600)
        finals = await client.finish()
    assert [f.transcript for f in finals] == ["Turn on the kitchen lights."]
    config = scripted.sessions[-1].config
    assert config.sample_rate == 8000
    assert config.language is None


async def test_context_text_reaches_the_service(scripted: QwenEmulator) -> None:
    async with _client(scripted, context="Kitchen, Living room") as client:
        await client.finish()
    assert scripted.sessions[-1].corpus_texts[-1] == "Kitchen, Living room"


async def test_audio_is_held_until_the_session_is_ready(scripted: QwenEmulator, speech_pcm) -> None:
    scripted.faults.handshake_delay_seconds = 0.3
    pcm = speech_pcm("what_time_is_it.wav")
    client = _client(scripted)
    client.start()
    client.append_audio(pcm)  # before the handshake even completed
    try:
        finals = await client.finish()
    finally:
        await client.close()
    assert [f.transcript for f in finals] == ["Turn on the kitchen lights."]
    types = scripted.sessions[-1].client_types
    assert types[0] == "session.update"
    assert types[-1] == "session.finish"
    assert scripted.sessions[-1].audio_bytes == len(pcm)


async def test_silence_only_session_returns_no_transcript(scripted: QwenEmulator) -> None:
    async with _client(scripted) as client:
        client.append_audio(bytes(32000))
        assert await client.finish() == []
        assert client.results.transcript == ""


async def test_oversize_audio_is_split_under_the_limit(scripted: QwenEmulator) -> None:
    pcm = bytes(12_000_000)  # base64 of this is ~16 MB: over one append's 15 MiB limit
    # Unpaced: a paced VAD session would send 1 s appends over 375 s of real time.
    # The emulator takes seconds to segment 375 s of audio on a loaded CI machine, silent
    # meanwhile: this test is about the split, not about a service that goes silent.
    patient = Timeouts(connect=2.0, setup=2.0, finish=30.0, close=1.0, finish_silence=30.0)
    async with _client(scripted, audio=AudioOptions(max_ahead_ms=None), timeouts=patient) as client:
        client.append_audio(pcm)
        assert await client.finish(timeout=30) == []
    record = scripted.sessions[-1]
    assert record.client_types.count("input_audio_buffer.append") == 2
    assert record.audio_bytes == len(pcm)
    assert len(pcm) * 4 / 3 > MAX_APPEND_BASE64_BYTES


async def test_wrong_key_is_an_authentication_error(scripted: QwenEmulator) -> None:
    client = QwenRealtimeClient("wrong-secret-key", endpoint=scripted.url, timeouts=SHORT)
    with pytest.raises(AuthenticationError) as err:
        await client.connect()
    assert err.value.status == 401
    assert "wrong-secret-key" not in str(err.value)
    assert "wrong-secret-key" not in repr(client)
    assert client.results.state is SessionState.FAILED
    with pytest.raises(AuthenticationError):
        client.append_audio(b"\0\0")
    await client.close()


@pytest.mark.parametrize(
    ("status", "error"), [(403, AuthenticationError), (503, QwenConnectionError)]
)
async def test_rejected_handshake(scripted: QwenEmulator, status: int, error: type) -> None:
    scripted.faults.reject_status = status
    client = _client(scripted)
    with pytest.raises(error, match=str(status)):
        await client.connect()
    await client.close()


@pytest.mark.parametrize("status", [404, 500])
async def test_refused_handshake_keeps_the_status(scripted: QwenEmulator, status: int) -> None:
    """A refusal other than 401/403 says which HTTP status the service answered."""
    scripted.faults.reject_status = status
    client = _client(scripted)
    with pytest.raises(SessionRefusedError) as caught:
        await client.connect()
    assert caught.value.status == status
    assert isinstance(caught.value, QwenConnectionError)
    # An unknown model is the likely 404: the message says where to look.
    assert ("check the model name (--model" in str(caught.value)) == (status == 404)
    await client.close()


async def test_unreachable_endpoint() -> None:
    port = free_port()
    client = QwenRealtimeClient(
        KEY, endpoint=f"ws://127.0.0.1:{port}/api-ws/v1/realtime", timeouts=SHORT
    )
    with pytest.raises(QwenConnectionError, match="Cannot connect"):
        await client.connect()
    await client.close()


async def test_stalled_service_times_out_at_setup(scripted: QwenEmulator) -> None:
    scripted.faults.stall = True
    client = _client(scripted)
    with pytest.raises(QwenTimeoutError, match="configured"):
        await client.connect()
    await client.close()


async def test_slow_handshake_times_out(scripted: QwenEmulator) -> None:
    scripted.faults.handshake_delay_seconds = 3.0
    client = QwenRealtimeClient(
        KEY,
        endpoint=scripted.url,
        timeouts=Timeouts(connect=0.3, setup=0.3, finish=1.0, close=0.5),
    )
    with pytest.raises(QwenTimeoutError):
        await client.connect()
    await client.close()


async def test_stall_on_finish_times_out(scripted: QwenEmulator, speech_pcm) -> None:
    scripted.faults.stall_on = "session.finish"
    async with _client(scripted) as client:
        await _stream(client, speech_pcm("what_time_is_it.wav"))
        with pytest.raises(QwenTimeoutError, match="final transcript"):
            await client.finish(timeout=0.5)


async def test_slow_events_still_complete(scripted: QwenEmulator, speech_pcm) -> None:
    scripted.faults.event_delay_seconds = 0.02
    async with _client(scripted) as client:
        await _stream(client, speech_pcm("what_time_is_it.wav"))
        finals = await client.finish()
    assert [f.transcript for f in finals] == ["Turn on the kitchen lights."]


async def test_dropped_connection_is_reported(scripted: QwenEmulator, speech_pcm) -> None:
    scripted.faults.drop_after_audio_ms = 300
    async with _client(scripted) as client:
        with contextlib.suppress(QwenConnectionError):
            await _stream(client, speech_pcm("two_commands.wav"))
        with pytest.raises(QwenConnectionError):
            await client.finish()
        assert isinstance(client.results.error, QwenConnectionError)


async def test_error_event_ends_the_session(scripted: QwenEmulator, speech_pcm) -> None:
    scripted.faults.error_after_events = 3
    async with _client(scripted) as client:
        # The error may arrive while audio is still being appended, or during finish.
        with pytest.raises(ServiceError) as err:
            await _stream(client, speech_pcm("what_time_is_it.wav"))
            await client.finish()
    assert err.value.code == "internal_error"
    assert client.results.state is SessionState.FAILED


async def test_failed_item_is_reported_without_ending_the_session(
    scripted: QwenEmulator, speech_pcm
) -> None:
    scripted.faults.fail_item = 1
    async with _client(scripted) as client:
        await _stream(client, speech_pcm("two_commands.wav"))
        finals = await client.finish()
    assert len(client.results.failed_items) == 1
    assert [f.transcript for f in finals] == ["What time is it?"]


async def test_first_final_returns_before_the_session_ends(
    scripted: QwenEmulator, speech_pcm
) -> None:
    async with _client(scripted) as client:
        await _stream(client, speech_pcm("two_commands.wav"))
        first = await client.results.first_final(timeout=5)
        assert isinstance(first, Final)
        assert first.transcript == "Turn on the kitchen lights."


async def test_audio_after_finish_is_a_protocol_error(scripted: QwenEmulator) -> None:
    async with _client(scripted) as client:
        client.end_session_nowait()
        with pytest.raises(ProtocolError):
            client.append_audio(b"\0\0")


async def test_close_releases_every_task(scripted: QwenEmulator, speech_pcm) -> None:
    before = asyncio.all_tasks()
    client = _client(scripted)
    client.start()
    client.append_audio(speech_pcm("what_time_is_it.wav"))
    await asyncio.sleep(0.05)
    await client.close()
    await client.close()  # idempotent
    # The emulator's side of the connection (websockets' server handler, in this loop too)
    # may still be closing on a loaded machine: only the client's tasks are in question.
    leftover = {
        t for t in asyncio.all_tasks() - before if not t.done() and not _is_emulator_task(t)
    }
    assert {t.get_name() for t in leftover} <= {t.get_name() for t in before}
    assert not any(t.get_name().startswith("qwen-") for t in leftover)


def _is_emulator_task(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return "websockets/asyncio/server.py" in filename or "wyoming_server/emulator" in filename


def test_repr_and_errors_never_show_the_key() -> None:
    client = QwenRealtimeClient("sk-very-secret", endpoint="ws://127.0.0.1:1/x")
    assert "sk-very-secret" not in repr(client)
    assert "sk-very-secret" not in str(vars(client).get("url"))
    with pytest.raises(ConfigError):
        QwenRealtimeClient("", endpoint="intl")


async def test_debug_logs_never_show_the_key(
    scripted: QwenEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with _client(scripted) as client:
        client.append_audio(bytes(3200))
        await client.finish()
    handshake = [r.getMessage() for r in caplog.records if "Authorization" in r.getMessage()]
    assert len(handshake) >= 2  # the client's request and the emulator's view of it
    assert KEY not in caplog.text


class _RecordingRecognizer:
    """Recognizer factory that keeps every byte each utterance was fed, in order."""

    def __init__(self) -> None:
        self.fed: list[bytearray] = []

    def __call__(self, *, sample_rate: int, utterance_index: int, session_id: str) -> object:
        audio = bytearray()
        self.fed.append(audio)
        outer = self

        class _Utterance:
            def feed(self, pcm: bytes) -> None:
                audio.extend(pcm)

            def partial(self) -> str:
                return ""

            def final(self) -> str:
                return f"{len(outer.fed)}"

        return _Utterance()


async def test_send_audio_keeps_order_with_held_and_queued_audio(speech_pcm) -> None:
    recorder = _RecordingRecognizer()
    pcm = speech_pcm("what_time_is_it.wav")
    held, rest = pcm[:32000], pcm[32000:]
    async with QwenEmulator(api_keys=frozenset({KEY}), recognizer_factory=recorder) as emu:
        emu.faults.handshake_delay_seconds = 0.1
        client = _client(emu, vad=None)
        client.start()
        client.append_audio(held)  # held until the session is ready
        try:
            await client.send_audio(rest[:3200])  # not ready yet: queued behind the held audio
            await client.connect()
            for start in range(3200, len(rest), 3200):
                await client.send_audio(rest[start : start + 3200])  # written directly
            finals = await client.finish()
        finally:
            await client.close()
    assert [f.transcript for f in finals] == ["1"]
    assert bytes(recorder.fed[0]) == pcm
    assert client.sender.audio_bytes_sent == len(pcm)


async def test_update_session_changes_the_live_configuration(scripted: QwenEmulator) -> None:
    async with _client(scripted) as client:
        await client.update_session(SessionConfig(language="de", vad=None, context="Küche"))
        assert client.sender.config.manual
        record = scripted.sessions[-1]
        assert record.config.language == "de"
        assert record.config.turn_detection is None
        assert record.corpus_texts[-1] == "Küche"
        with pytest.raises(ConfigError):
            await client.update_session(SessionConfig(language="xx"))
        client.end_session_nowait()
        with pytest.raises(ProtocolError):
            await client.update_session(SessionConfig())
