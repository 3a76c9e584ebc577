"""Live stream or recording: the client's choice of mode, against the emulator on loopback.

A whole recording in hand before the session is configured goes in manual mode, committed
at its silences and unpaced; a live stream stays in VAD mode and loses nothing under the
emulator's backlog-loss model (``vad_backlog_limit_ms``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from qwen_asr_realtime import AudioOptions, QwenRealtimeClient, SessionConfig, Timeouts, VadConfig
from qwen_asr_realtime.recording import RECORDING_HOLD_SECONDS, SilenceCutter, split_at_silences

from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer, SessionRecord

KEY = "test-key"
RATE = 16000
BYTES_PER_S = RATE * 2
TWO_COMMANDS = ["Stop the music.", "Open the garage door."]
VAD = VadConfig(threshold=0.2, silence_duration_ms=800)
TIMEOUTS = Timeouts(connect=3.0, setup=3.0, finish=5.0, close=1.0)
APPEND, COMMIT = "input_audio_buffer.append", "input_audio_buffer.commit"


@pytest.fixture
async def service() -> AsyncIterator[QwenEmulator]:
    """The emulator with the backlog-loss model on: audio > 2.5 s ahead of real time is lost."""
    emulator = QwenEmulator(
        api_keys=frozenset({KEY}),
        recognizer_factory=ScriptedRecognizer(TWO_COMMANDS),
        behaviour=Behaviour.from_env(vad_backlog_limit_ms=2500),
    )
    async with emulator:
        yield emulator


def _client(service: QwenEmulator, audio: AudioOptions | None = None) -> QwenRealtimeClient:
    config = SessionConfig(language="en", vad=VAD)
    return QwenRealtimeClient(KEY, config, endpoint=service.url, timeouts=TIMEOUTS, audio=audio)


async def _transcripts(
    client: QwenRealtimeClient, feed: Callable[[QwenRealtimeClient], Awaitable[None]]
) -> list[str]:
    """Start the client, ``feed`` it, finish: the final transcripts."""
    try:
        client.start()
        await feed(client)
        return [final.transcript for final in await client.finish()]
    finally:
        await client.close()


def _assert_live(client: QwenRealtimeClient, record: SessionRecord) -> None:
    """Sent as a live stream: VAD mode, and the backlog-loss model lost nothing."""
    assert not client.recording
    assert record.config.turn_detection is not None
    assert record.vad_lost_ms == 0


def _appends_span_s(record: SessionRecord) -> float:
    times = [at for at, kind in record.client_events if kind == APPEND]
    return times[-1] - times[0]


async def test_a_whole_recording_goes_manual_committed_at_its_silences(
    service: QwenEmulator, speech_pcm: Callable[..., bytes], caplog: pytest.LogCaptureFixture
) -> None:
    pcm = speech_pcm("two_commands")  # 5.5 s: two commands 1.5 s apart
    client = _client(service)
    caplog.set_level(logging.DEBUG, logger="qwen_asr_realtime")

    async def whole_file(client: QwenRealtimeClient) -> None:
        client.append_audio(pcm)  # all of it, and the end, before the session is configured

    assert await _transcripts(client, whole_file) == TWO_COMMANDS
    record = service.sessions[-1]
    assert client.recording
    assert record.config.turn_detection is None  # manual mode, chosen in the one update
    assert record.client_types.count("session.update") == 1
    assert record.client_types.count(COMMIT) == 2  # one per command, split at the silence
    assert record.audio_bytes == len(pcm)  # nothing dropped
    assert _appends_span_s(record) < 1.0  # not paced: 5.5 s of audio in a burst
    assert "manual mode, 2 commit(s)" in caplog.text


async def test_without_the_fast_path_a_recording_is_paced_in_vad_mode(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    pcm = speech_pcm("two_commands")
    client = _client(service, AudioOptions(recordings_manual=False))

    async def whole_file(client: QwenRealtimeClient) -> None:
        client.append_audio(pcm)

    assert await _transcripts(client, whole_file) == TWO_COMMANDS
    record = service.sessions[-1]
    _assert_live(client, record)
    assert _appends_span_s(record) >= 5.5 - 2.0 - 0.3  # paced: at most 2 s ahead


async def test_a_buffered_second_without_its_end_stays_in_vad_mode(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """A satellite's buffered second, its end still to come, may go on live: VAD mode."""
    pcm = speech_pcm("two_commands")
    client = _client(service)

    async def backlog_then_more(client: QwenRealtimeClient) -> None:
        client.append_audio(pcm[:BYTES_PER_S])  # 1 s held while connecting
        await client.connect()
        client.append_audio(pcm[BYTES_PER_S:])

    assert await _transcripts(client, backlog_then_more) == TWO_COMMANDS
    _assert_live(client, service.sessions[-1])


async def test_audio_far_ahead_of_real_time_is_a_recording_without_waiting_for_its_end(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Send 3 s in hand at once as a recording: a file or a script, not a microphone.

    Manual mode, cut at the silences of the audio that follows, whenever its end comes (no
    race with the end).
    """
    pcm = speech_pcm("two_commands")
    client = _client(service)

    async def file_then_the_rest_later(client: QwenRealtimeClient) -> None:
        client.append_audio(pcm[: 3 * BYTES_PER_S])
        await client.connect()  # configured before the rest and the end arrive
        client.append_audio(pcm[3 * BYTES_PER_S :])

    assert await _transcripts(client, file_then_the_rest_later) == TWO_COMMANDS
    record = service.sessions[-1]
    assert not client.recording  # its end was not in hand: it may be answered early
    assert record.config.turn_detection is None
    assert record.client_types.count(COMMIT) == 2  # one per command
    assert record.audio_bytes == len(pcm)


async def test_a_long_recording_is_held_in_bounded_stretches_and_cut_at_its_silences(
    service: QwenEmulator,
) -> None:
    """Hold a recording longer than the hold in bounded stretches.

    ``send_audio`` waits for room; every command is still its own commit, and the audio not
    yet written never exceeds the hold (plus one piece).
    """
    command = _tone(1.0) + _silence(2.0)
    pcm = _silence(0.5) + command * 12  # 36.5 s, three holds
    client = _client(service)
    hold = int(RECORDING_HOLD_SECONDS * BYTES_PER_S)
    piece = BYTES_PER_S // 10
    peak = 0

    async def fast_script(client: QwenRealtimeClient) -> None:
        nonlocal peak
        for start in range(0, len(pcm), piece):
            await client.send_audio(pcm[start : start + piece])
            peak = max(peak, client.sender.buffered_audio_bytes)

    await _transcripts(client, fast_script)
    record = service.sessions[-1]
    assert record.config.turn_detection is None
    assert record.client_types.count(COMMIT) == 12
    assert record.audio_bytes == len(pcm)
    assert peak <= hold + piece


async def test_a_recording_whose_end_arrives_after_the_connection_opened(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Far ahead of real time: the configuration waits a moment for the end of the file."""
    pcm = speech_pcm("two_commands")
    client = _client(service)

    async def file_still_arriving(client: QwenRealtimeClient) -> None:
        client.append_audio(pcm[: 3 * BYTES_PER_S])
        async with asyncio.timeout(3):
            while not service.sessions:  # the connection is open, not yet configured
                await asyncio.sleep(0.002)
        client.append_audio(pcm[3 * BYTES_PER_S :])

    assert await _transcripts(client, file_still_arriving) == TWO_COMMANDS
    assert client.recording
    assert service.sessions[-1].config.turn_detection is None


async def test_a_live_stream_stays_in_vad_mode_and_loses_nothing(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """10 ms pieces at real time, as Home Assistant sends them, under the backlog-loss model."""
    pcm = speech_pcm("two_commands")
    client = _client(service)
    piece = BYTES_PER_S // 100

    async def live(client: QwenRealtimeClient) -> None:
        started = time.monotonic()
        for index, start in enumerate(range(0, len(pcm), piece)):
            await asyncio.sleep(max(0.0, started + index / 100 - time.monotonic()))
            await client.send_audio(pcm[start : start + piece])

    assert await _transcripts(client, live) == TWO_COMMANDS
    record = service.sessions[-1]
    _assert_live(client, record)
    assert COMMIT not in record.client_types
    assert record.audio_bytes == len(pcm)


async def test_a_silent_recording_stays_in_vad_mode(service: QwenEmulator) -> None:
    """No speech the client can see: Qwen's VAD decides (nothing to lose by pacing)."""
    client = _client(service)

    async def silence(client: QwenRealtimeClient) -> None:
        client.append_audio(bytes(BYTES_PER_S // 2))

    assert await _transcripts(client, silence) == []
    _assert_live(client, service.sessions[-1])


# -- where a recording is cut -----------------------------------------------------------


def _tone(seconds: float, amplitude: int = 8000) -> bytes:
    one = amplitude.to_bytes(2, "little", signed=True) + (-amplitude).to_bytes(
        2, "little", signed=True
    )
    return one * int(RATE * seconds / 2)


def _silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def test_cut_in_the_middle_of_each_long_silence() -> None:
    pcm = _silence(0.3) + _tone(1.0) + _silence(1.0) + _tone(0.5) + _silence(0.4)
    pieces = split_at_silences(pcm, RATE, 800)
    assert pieces is not None
    assert b"".join(pieces) == pcm  # no audio dropped
    assert [len(p) for p in pieces] == [int(RATE * 1.8) * 2, int(RATE * 1.4) * 2]


def test_short_pauses_and_edge_silences_are_not_cuts() -> None:
    pcm = _silence(2.0) + _tone(1.0) + _silence(0.5) + _tone(1.0) + _silence(2.0)
    assert split_at_silences(pcm, RATE, 800) == [pcm]


def test_no_speech_or_a_stretch_over_60_s_is_not_a_recording() -> None:
    assert split_at_silences(_silence(3.0), RATE, 800) is None
    quiet_room = bytes.fromhex("6400") * RATE  # peaks at 100 (-50 dBFS): still silence
    assert split_at_silences(quiet_room, RATE, 800) is None
    assert split_at_silences(_tone(61.0), RATE, 800) is None
    assert split_at_silences(_tone(30.0) + _silence(1.0) + _tone(30.0), RATE, 800) is not None


def test_a_click_is_not_speech() -> None:
    # A click after the last silence (a capture's stale last period) makes no piece of its own.
    speech = _silence(0.3) + _tone(1.0) + _silence(1.0) + _tone(0.5)
    pcm = speech + _silence(1.0) + _tone(0.06)
    pieces = split_at_silences(pcm, RATE, 800)
    assert pieces is not None and b"".join(pieces) == pcm
    assert [len(p) for p in pieces] == [int(RATE * 1.8) * 2, len(pcm) - int(RATE * 1.8) * 2]
    # A click alone is no speech at all; a click inside a silence does not end it.
    assert split_at_silences(_silence(1.0) + _tone(0.06) + _silence(1.0), RATE, 800) is None
    clicked = _tone(1.0) + _silence(0.5) + _tone(0.04) + _silence(0.5) + _tone(1.0)
    assert len(split_at_silences(clicked, RATE, 800) or []) == 2


def test_a_recording_still_arriving_is_cut_in_held_stretches() -> None:
    cutter = SilenceCutter(RATE, 800, hold_bytes=int(RATE * 4.0) * 2)
    first = _tone(1.0) + _silence(1.0) + _tone(1.0)  # 3 s: below the hold
    assert cutter.add(first) == []
    given = cutter.add(_silence(1.0) + _tone(0.5))  # 4.5 s: cut in both silences
    half = _silence(0.5)
    assert given == [(_tone(1.0) + half, True), (half + _tone(1.0) + half, True)]
    assert cutter.size == len(half + _tone(0.5))  # the last piece may go on: it waits
    assert cutter.finish() == [half + _tone(0.5)]
    assert cutter.size == 0


def test_a_held_stretch_without_a_cut_goes_on_uncommitted() -> None:
    cutter = SilenceCutter(RATE, 800, hold_bytes=int(RATE * 2.0) * 2)
    assert cutter.add(_tone(2.5)) == [(_tone(2.5), False)]
    assert cutter.size == 0
