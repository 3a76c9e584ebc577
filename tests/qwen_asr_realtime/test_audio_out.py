"""Coalescing Home Assistant's 10 ms pieces into appends, and pacing backlogs in VAD mode,
through the client against the emulator over loopback."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from qwen_asr_realtime import (
    AudioOptions,
    ConfigError,
    QwenRealtimeClient,
    SessionConfig,
    Timeouts,
    VadConfig,
)
from qwen_asr_realtime.audio_out import BacklogPacer

from wyoming_server.emulator import Behaviour, QwenEmulator, ScriptedRecognizer, SessionRecord

KEY = "test-key"
PIECE = 320  # 10 ms at 16 kHz: what Home Assistant's pipeline hands an STT engine
BYTES_PER_S = 32000
TWO_COMMANDS = ["Turn on the kitchen lights.", "What time is it?"]
FAST_VAD = VadConfig(threshold=0.2, silence_duration_ms=400)
TIMEOUTS = Timeouts(connect=3.0, setup=3.0, finish=3.0, close=1.0)


@dataclass
class Appends:
    """What the emulator received: (time, start offset) of each append, in order."""

    record: SessionRecord | None = None
    starts: list[tuple[float, int]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def hook(self, record: SessionRecord, event: dict[str, Any], at: float) -> None:
        self.record = record
        self.order.append(str(event.get("type")))
        if event.get("type") == "input_audio_buffer.append":
            self.starts.append((at, record.audio_bytes))  # before this append is counted

    @property
    def sizes(self) -> list[int]:
        assert self.record is not None
        offsets = [offset for _, offset in self.starts] + [self.record.audio_bytes]
        return [b - a for a, b in itertools.pairwise(offsets)]

    def max_ahead_seconds(self) -> float:
        """How far the audio received ran ahead of real time (from the first append)."""
        first = self.starts[0][0]
        ends = [offset for _, offset in self.starts[1:]] + [self.record_bytes]
        pairs = zip(self.starts, ends, strict=True)
        return max(end / BYTES_PER_S - (at - first) for (at, _), end in pairs)

    @property
    def record_bytes(self) -> int:
        assert self.record is not None
        return self.record.audio_bytes


def _emulator(appends: Appends, **behaviour: Any) -> QwenEmulator:
    return QwenEmulator(
        api_keys=frozenset({KEY}),
        recognizer_factory=ScriptedRecognizer(TWO_COMMANDS),
        behaviour=Behaviour.from_env(**behaviour),
        on_client_event=appends.hook,
    )


@pytest.fixture
def appends() -> Appends:
    return Appends()


@pytest.fixture
async def emulator(appends: Appends) -> AsyncIterator[QwenEmulator]:
    async with _emulator(appends) as emu:
        yield emu


def _client(
    emulator: QwenEmulator, audio: AudioOptions | None = None, **config: Any
) -> QwenRealtimeClient:
    settings: dict[str, Any] = {"language": "en", "vad": FAST_VAD, **config}
    return QwenRealtimeClient(
        KEY, SessionConfig(**settings), endpoint=emulator.url, timeouts=TIMEOUTS, audio=audio
    )


async def _send_pieces(client: QwenRealtimeClient, pcm: bytes, size: int = PIECE) -> None:
    for start in range(0, len(pcm), size):
        await client.send_audio(pcm[start : start + size])


async def _until(predicate: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


# -- coalescing ------------------------------------------------------------------------


async def test_ten_ms_pieces_become_100_ms_appends(emulator: QwenEmulator, appends: Appends):
    pcm = bytes(range(256)) * 125  # exactly 1 s, distinguishable bytes
    async with _client(emulator) as client:
        await _send_pieces(client, pcm)
        await client.finish()
    assert appends.sizes == [3200] * 10
    assert client.sender.audio_bytes_sent == len(pcm)


async def test_zero_window_sends_one_append_per_piece(emulator: QwenEmulator, appends: Appends):
    async with _client(emulator, AudioOptions(coalesce_ms=0)) as client:
        await _send_pieces(client, bytes(3200))
        await client.finish()
    assert appends.sizes == [PIECE] * 10


async def test_pieces_larger_than_the_window_go_out_whole(emulator: QwenEmulator, appends):
    async with _client(emulator) as client:
        await _send_pieces(client, bytes(2048 * 5), size=2048)  # wyoming-satellite's 64 ms
        await client.finish()
    assert appends.sizes == [4096, 4096, 2048]  # two pieces fill 100 ms; the rest at finish


async def test_finish_sends_pending_audio_first(emulator: QwenEmulator, appends: Appends):
    async with _client(emulator, AudioOptions(coalesce_ms=1000)) as client:
        await _send_pieces(client, bytes(PIECE * 15))  # 150 ms: far less than the window
        assert appends.starts == []  # still pending
        await client.finish()
    assert appends.sizes == [PIECE * 15]
    assert appends.order[-2:] == ["input_audio_buffer.append", "session.finish"]


async def test_commit_sends_pending_audio_first(emulator: QwenEmulator, appends: Appends):
    async with _client(emulator, vad=None) as client:
        await _send_pieces(client, bytes(PIECE * 15))
        assert client.commit() is True
        await client.finish()
    assert appends.sizes == [3200, PIECE * 5]
    assert appends.order[-3:] == [
        "input_audio_buffer.append",
        "input_audio_buffer.commit",
        "session.finish",
    ]


async def test_held_audio_is_sent_at_once_when_the_session_is_ready(
    emulator: QwenEmulator, appends: Appends
):
    emulator.faults.handshake_delay_seconds = 0.2
    client = _client(emulator)
    client.start()
    try:
        await _send_pieces(client, bytes(PIECE * 25))  # 250 ms while connecting
        await client.connect()
        # Nothing more is sent: the held 50 ms tail must not wait for the next piece.
        await _until(lambda: appends.record is not None and appends.record_bytes == PIECE * 25)
        assert appends.sizes == [3200, 3200, 1600]
    finally:
        await client.close()


async def test_a_source_that_stops_mid_append_is_flushed_by_the_stall_timer(
    emulator: QwenEmulator, appends: Appends
):
    async with _client(emulator, AudioOptions(coalesce_ms=50)) as client:
        await _send_pieces(client, bytes(PIECE * 3))  # 30 ms, then nothing
        await _until(lambda: appends.starts != [])  # after two 50 ms windows
        assert appends.sizes == [PIECE * 3]
        await client.finish()


async def test_update_session_sends_pending_audio_under_the_old_configuration(
    emulator: QwenEmulator, appends: Appends
):
    async with _client(emulator) as client:
        await _send_pieces(client, bytes(PIECE * 5))
        await client.update_session(SessionConfig(language="de", vad=FAST_VAD))
        await client.finish()
    assert appends.order.index("input_audio_buffer.append") < len(appends.order) - 1
    assert appends.order[-3:] == ["input_audio_buffer.append", "session.update", "session.finish"]


async def test_appends_keep_their_duration_when_the_sample_rate_changes(
    emulator: QwenEmulator, appends: Appends
):
    async with _client(emulator) as client:
        await client.update_session(SessionConfig(language="en", vad=FAST_VAD, sample_rate=8000))
        await _send_pieces(client, bytes(160 * 20), size=160)  # 10 ms pieces at 8 kHz
        await client.finish()
    assert appends.sizes == [1600, 1600]


class CountingConverter:
    """Stereo to mono by keeping the left channel; counts its calls."""

    input_bytes_per_second = BYTES_PER_S * 2
    calls = 0

    def convert(self, audio: bytes) -> bytes:
        self.calls += 1
        return b"".join(audio[i : i + 2] for i in range(0, len(audio), 4))


async def test_conversion_happens_once_per_append(emulator: QwenEmulator, appends: Appends):
    converter = CountingConverter()
    async with _client(emulator) as client:
        client.set_audio_converter(converter)
        await _send_pieces(client, bytes(PIECE * 2 * 20), size=PIECE * 2)  # 200 ms, stereo
        await client.finish()
    assert appends.sizes == [3200, 3200]
    assert converter.calls == 2


@pytest.mark.parametrize("options", [AudioOptions(coalesce_ms=-1), AudioOptions(1001)])
def test_invalid_audio_options_are_refused(options: AudioOptions) -> None:
    with pytest.raises(ConfigError):
        QwenRealtimeClient(KEY, audio=options)


# -- pacing ------------------------------------------------------------------------------


def test_pacer_allows_a_burst_then_real_time() -> None:
    pacer = BacklogPacer(max_ahead_seconds=2.0)
    assert pacer.delay(5.0) == 0.0  # nothing sent yet: real time starts with the first send
    pacer.sent(1.5)
    assert pacer.delay(0.5) == 0.0  # 2 s ahead: still within the allowance
    pacer.sent(0.5)
    assert 0.9 < pacer.delay(1.0) <= 1.0  # 3 s ahead of (almost) no time: wait about 1 s
    assert BacklogPacer(max_ahead_seconds=None).delay(100.0) == 0.0


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
async def test_pacing_keeps_a_backlog_recognizable(paced: bool, speech_pcm) -> None:
    """The emulator's VAD loses audio arriving > 2.5 s ahead of real time (the reported
    failure, modelled): a whole file sent at once loses its second command unless paced."""
    pcm = speech_pcm("two_commands")
    appends = Appends()
    options = AudioOptions() if paced else AudioOptions(max_ahead_ms=None)
    async with _emulator(appends, vad_backlog_limit_ms=2500) as emulator:
        async with _client(emulator, options) as client:
            client.append_audio(pcm)  # a whole recording at once
            finals = await client.finish()
    record = appends.record
    assert record is not None and record.audio_bytes == len(pcm)
    if paced:
        assert [f.transcript for f in finals] == TWO_COMMANDS
        assert record.vad_lost_ms == 0
        assert appends.max_ahead_seconds() <= 2.0 + 0.05
    else:
        assert [f.transcript for f in finals] == TWO_COMMANDS[:1]
        assert record.vad_lost_ms > 2000


async def test_paced_backlog_does_not_count_against_the_finish_timeout(
    emulator: QwenEmulator, appends: Appends, speech_pcm
) -> None:
    pcm = speech_pcm("two_commands")  # 5.5 s: 3.5 s of pacing beyond the 2 s allowance
    client = QwenRealtimeClient(
        KEY,
        SessionConfig(language="en", vad=FAST_VAD),
        endpoint=emulator.url,
        timeouts=Timeouts(finish=1.0),
    )
    async with client:
        client.append_audio(pcm)
        finals = await client.finish()
    assert [f.transcript for f in finals] == TWO_COMMANDS
    assert appends.max_ahead_seconds() <= 2.0 + 0.05  # it was paced, and finish waited for it
    assert max(appends.sizes) <= BYTES_PER_S  # split into 1 s appends so it can be paced


async def test_manual_mode_is_not_paced(emulator: QwenEmulator, appends: Appends, speech_pcm):
    pcm = speech_pcm("two_commands")
    async with _client(emulator, vad=None) as client:
        client.append_audio(pcm)
        await client.finish()
    assert appends.record_bytes == len(pcm)
    assert appends.max_ahead_seconds() > 5.0  # all of it at once: no VAD to overwhelm
