"""The client's bounded audio, its quota, and a recording that stops arriving.

The audio is bounded in bytes, the quota counts what reached the socket, and a recording
still arriving is committed when it stops, against the emulator on loopback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from qwen_asr_realtime import AudioOptions, QwenRealtimeClient, SessionConfig, Timeouts, VadConfig

from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer

KEY = "test-key"
BYTES_PER_S = 32000
PIECE = BYTES_PER_S // 10
VAD = VadConfig(threshold=0.2, silence_duration_ms=400)
TIMEOUTS = Timeouts(connect=3.0, setup=3.0, finish=5.0, close=1.0)


@pytest.fixture
async def service() -> AsyncIterator[QwenEmulator]:
    emulator = QwenEmulator(
        api_keys=frozenset({KEY}), recognizer_factory=ScriptedRecognizer(["one", "two"])
    )
    async with emulator:
        yield emulator


def _client(
    service: QwenEmulator, audio: AudioOptions, vad: VadConfig | None = VAD
) -> QwenRealtimeClient:
    config = SessionConfig(language="en", vad=vad)
    return QwenRealtimeClient(KEY, config, endpoint=service.url, timeouts=TIMEOUTS, audio=audio)


class Budget:
    """An AudioQuota of ``seconds``: the append that reaches it is the last one written."""

    def __init__(self, seconds: float) -> None:
        """Allow ``seconds`` of audio."""
        self.seconds = seconds
        self.spent_s = 0.0
        self.asked = 0

    def allows(self) -> bool:
        """Tell whether the budget is not spent yet."""
        self.asked += 1
        return self.spent_s < self.seconds

    def spent(self, seconds: float) -> None:
        """Count what was written."""
        self.spent_s += seconds


async def test_a_source_faster_than_the_paced_stream_waits_at_the_bound_and_loses_nothing(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """VAD mode, paced at real time: ``send_audio`` waits instead of queueing the backlog."""
    pcm = speech_pcm("turn_on_kitchen_lights") * 2  # 5.4 s, sent as fast as it is taken
    client = _client(service, AudioOptions(recordings_manual=False, max_buffered_ms=1000))
    waited = 0
    try:
        await client.connect()
        for start in range(0, len(pcm), PIECE):
            sender = client.sender
            waited += not sender.has_space  # this call has to wait for room
            await client.send_audio(pcm[start : start + PIECE])
            assert sender.buffered_audio_bytes <= sender.buffer_limit + PIECE
        await client.finish()
    finally:
        await client.close()
    assert waited > 0
    assert service.sessions[-1].audio_bytes == len(pcm)
    assert client.sender.audio_bytes_sent == len(pcm)


async def test_a_quota_is_overrun_by_one_append_at_most_and_counts_what_was_written(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    pcm = speech_pcm("two_commands")
    budget = Budget(1.0)
    client = _client(service, AudioOptions(), vad=None)  # manual mode: never paced
    client.sender.limit_audio(budget)
    try:
        await client.connect()
        for start in range(0, len(pcm), PIECE):
            await client.send_audio(pcm[start : start + PIECE])
        finals = await client.finish()  # the commit of what was written still goes
    finally:
        await client.close()
    record = service.sessions[-1]
    assert client.sender.audio_refused
    assert record.audio_bytes == client.sender.audio_bytes_sent
    assert budget.spent_s == pytest.approx(client.sender.audio_bytes_sent / BYTES_PER_S)
    assert budget.seconds <= budget.spent_s <= budget.seconds + 1.0  # one append of <= 1 s
    assert [final.transcript for final in finals] == ["one"]


async def test_a_quota_refusing_at_once_sends_no_audio_and_no_empty_commit(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    client = _client(service, AudioOptions(), vad=None)
    client.sender.limit_audio(Budget(0.0))
    try:
        await client.connect()
        await client.send_audio(speech_pcm("what_time_is_it"))
        assert await client.finish() == []  # the service saw no empty commit (no error)
    finally:
        await client.close()
    assert service.sessions[-1].audio_bytes == 0
    assert "input_audio_buffer.commit" not in service.sessions[-1].client_types


async def test_a_recording_that_stops_arriving_is_committed_before_its_end(
    service: QwenEmulator, speech_pcm: Callable[..., bytes]
) -> None:
    """Commit a recording's held audio when no more comes, its end not in hand.

    Far ahead of real time: manual mode; the transcript comes without the end (as VAD
    would give it).
    """
    client = _client(service, AudioOptions())
    try:
        client.append_audio(speech_pcm("two_commands"))  # 5.5 s at once, then nothing
        await client.connect()
        final = await client.results.first_final(5.0)
        assert final is not None and final.transcript == "one"
        assert service.sessions[-1].config.turn_detection is None
    finally:
        await client.close()
