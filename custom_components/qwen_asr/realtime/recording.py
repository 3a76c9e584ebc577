"""A whole recording in hand: sent in manual mode, one commit per stretch of speech.

The rule (why it is safe against the real service): a session in VAD mode is sent as a
recording when, before ``session.update`` went out, either the whole audio, end included,
was in hand, or the audio arrived far faster than real time (``RECORDING_FAST_AHEAD_SECONDS``
ahead of the time since its first piece: a file or a script, not a microphone). It is the
arrival that decides, not whether the end wins a race against the connection. Then nothing
about the audio is live and the only thing the service's VAD could still do is split it
into utterances; everything else about VAD mode is a risk for a backlog (a third-party
client saw Qwen's VAD miss segments of a backlog sent faster than real time, protocol
reference 7.1), and pacing it costs its length.

Manual mode is the documented way to send audio that is not live ([DOC] 6.4:
``turn_detection: null``, append, commit, finish; several commits per session each give
their own item, in order). It is chosen in the one ``session.update`` of the session, so
no undocumented mid-session reconfiguration is relied on. The service's limit of 60 s of
audio per commit ([DOC] 1.6) is kept by committing at every silence at least as long as
the session's VAD ``silence_duration_ms`` (where Qwen's VAD would end an utterance too),
so a two-command recording still gives two transcripts; a recording with a stretch over
60 s between such silences, or with no speech this detector can see, stays in VAD mode and
is paced as before. No audio is dropped: each commit runs from the middle of one silence
to the middle of the next.

The energy threshold is deliberately low: a frame counts as silence only if its peak stays
below -40 dBFS (digital silence and a quiet room). A noisy recording finds fewer silences
and is committed in fewer, longer pieces, which Qwen recognizes as well; only the split
into separate transcripts is lost. Sound shorter than ``MIN_SPEECH_MS`` (a click, a pop, a
capture's last stale period) is not speech: it neither ends a silence nor makes a piece of
its own, which Qwen would answer with an empty or invented transcript.

Audio that is only a little ahead of real time, with its end still to come (a satellite
that buffered a second), is not a recording: it may go on live, and with Qwen's endpointing
only Qwen's VAD ends such a stream. A whole file may still be arriving when the connection
opens (on loopback the handshake takes a few milliseconds), so the client watches the
arrival for up to ``RECORDING_END_WAIT_SECONDS`` before configuring the session: audio that has
come in real time for ``ARRIVAL_WATCH_SECONDS`` is live and goes at once (on the real service the
connection alone takes longer, so live audio never waits there).

Memory is bounded: at most ``RECORDING_HOLD_SECONDS`` of audio is held, before the session is
configured and, in a recording whose end is still to come, between cuts
(``SilenceCutter``); the caller of ``send_audio`` waits beyond that. A recording longer
than the hold is cut at the silences found within each held stretch; when its audio stops
arriving for ``RECORDING_STALL_SECONDS`` (its end still to come), what is held is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import time
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

from .const import MAX_MANUAL_UTTERANCE_MS, SAMPLE_WIDTH

if TYPE_CHECKING:
    from .config import SessionConfig

_LOGGER = logging.getLogger(__name__)

# Audio in hand this far ahead of the time since its first piece: perhaps a recording.
RECORDING_AHEAD_SECONDS = 0.5
# How long the session's configuration waits, at most, to tell a recording from live audio.
RECORDING_END_WAIT_SECONDS = 0.25
# Audio that has arrived in real time (less than RECORDING_AHEAD_SECONDS ahead) for this long
# is live.
ARRIVAL_WATCH_SECONDS = 0.1
# Audio this far ahead of real time is a recording even with its end still to come; a
# satellite's buffered second is not (DEFAULT_MAX_AHEAD_MS covers it in VAD mode).
RECORDING_FAST_AHEAD_SECONDS = 2.0
# Audio held at most before the session is configured, and between a recording's cuts.
RECORDING_HOLD_SECONDS = 10.0
# A recording whose audio stops arriving this long (its end still to come) has what is
# held committed: it is transcribed, as Qwen's VAD would have done after a silence.
RECORDING_STALL_SECONDS = 0.5
FRAME_MS = 20
# Peak amplitude below which a frame is silence: -40 dBFS of full scale (32768).
SILENCE_PEAK = 328
# Shorter runs of sound are not speech (no spoken word is this short).
MIN_SPEECH_MS = 100


def _frame_is_silent(samples: array[int], start: int, end: int) -> bool:
    frame = samples[start:end]
    return not frame or (max(frame) < SILENCE_PEAK and min(frame) > -SILENCE_PEAK)


def split_at_silences(pcm: bytes, sample_rate: int, silence_ms: int) -> list[bytes] | None:
    """Return the recording cut in the middle of each silence of at least ``silence_ms``.

    None when it should not be sent as a recording: no speech found, or a piece would
    exceed the service's 60 s per commit.
    """
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) // SAMPLE_WIDTH * SAMPLE_WIDTH])
    if sys.byteorder == "big":
        samples.byteswap()  # PCM16 on the wire is little-endian
    frame = sample_rate * FRAME_MS // 1000
    silent = _without_clicks(
        [_frame_is_silent(samples, start, start + frame) for start in range(0, len(samples), frame)]
    )
    if all(silent):
        return None
    min_run = max(1, silence_ms // FRAME_MS)
    cuts: list[int] = []  # sample offsets
    run_start: int | None = None
    first_voiced = silent.index(False)
    for index, is_silent in enumerate([*silent, False]):  # a sentinel closes a trailing run
        if is_silent and run_start is None:
            run_start = index
        elif not is_silent and run_start is not None:
            interior = run_start > first_voiced and index < len(silent)
            if interior and index - run_start >= min_run:
                cuts.append((run_start + index) // 2 * frame)
            run_start = None
    bounds = [0, *(cut * SAMPLE_WIDTH for cut in cuts), len(pcm)]
    pieces = [pcm[start:end] for start, end in itertools.pairwise(bounds)]
    limit = MAX_MANUAL_UTTERANCE_MS * sample_rate // 1000 * SAMPLE_WIDTH
    return None if any(len(piece) > limit for piece in pieces) else pieces


def _without_clicks(silent: list[bool]) -> list[bool]:
    """``silent`` with each run of sound shorter than ``MIN_SPEECH_MS`` counted as silence."""
    shortest = max(1, MIN_SPEECH_MS // FRAME_MS)
    result: list[bool] = []
    for is_silent, run in itertools.groupby(silent):
        length = len(list(run))
        result += [is_silent or length < shortest] * length
    return result


class SilenceCutter:
    """A recording whose end is still to come, cut at its silences as it arrives.

    Holds audio until ``hold_bytes`` are in hand, then gives every piece but the last
    (each to be committed); the last piece may continue past the held audio, so it waits
    for more. Audio without any speech or cut is given uncommitted: the sender's automatic
    commit at the service's 60 s limit still applies.
    """

    def __init__(self, sample_rate: int, silence_ms: int, hold_bytes: int) -> None:
        """Cut at silences of ``silence_ms``, holding up to ``hold_bytes``."""
        self._sample_rate = sample_rate
        self._silence_ms = silence_ms
        self._hold_bytes = hold_bytes
        self._pending = bytearray()

    @property
    def size(self) -> int:
        """Return the bytes pending."""
        return len(self._pending)

    def add(self, pcm: bytes) -> list[tuple[bytes, bool]]:
        """Return the (audio, commit after it) to queue now; empty while the hold fills."""
        self._pending += pcm
        if len(self._pending) < self._hold_bytes:
            return []
        held = bytes(self._pending)
        self._pending.clear()
        pieces = split_at_silences(held, self._sample_rate, self._silence_ms)
        if pieces is None or len(pieces) == 1:
            return [(held, False)]  # no cut in this stretch: it goes on, uncommitted
        self._pending += pieces[-1]
        return [(piece, True) for piece in pieces[:-1]]

    def finish(self) -> list[bytes]:
        """Return the pending rest cut at its silences, each piece to be committed.

        At the recording's end, or a caller's commit.
        """
        rest = bytes(self._pending)
        self._pending.clear()
        if not rest:
            return []
        return split_at_silences(rest, self._sample_rate, self._silence_ms) or [rest]


class RecordingRule:
    """Tells one session's whole recording from a live stream (the rule above)."""

    def __init__(self, enabled: bool) -> None:
        """Apply the rule if ``enabled`` (``AudioOptions.recordings_manual``)."""
        self._enabled = enabled
        self._first_audio_at: float | None = None
        self.end_in_hand = asyncio.Event()  # the caller has ended the audio
        self.hold_full = False  # the caller waits for room: no more audio comes meanwhile

    def audio_appended(self) -> None:
        """Note that audio arrived (the first piece starts the arrival watch)."""
        if self._first_audio_at is None:
            self._first_audio_at = time.monotonic()

    async def arrives_fast(self, held_seconds: Callable[[], float]) -> bool:
        """Tell whether the audio in hand (``held_seconds()`` seconds) is a recording.

        It is when its end is in hand, or it arrives far faster than real time; live audio
        returns at once.
        """
        if not self._enabled:
            return False
        deadline = time.monotonic() + RECORDING_END_WAIT_SECONDS
        while not self.end_in_hand.is_set():
            now = time.monotonic()
            first = self._first_audio_at
            ahead = 0.0 if first is None else held_seconds() - (now - first)
            if now >= deadline or self.hold_full:
                return ahead >= RECORDING_FAST_AHEAD_SECONDS
            if (
                first is not None
                and now - first >= ARRIVAL_WATCH_SECONDS
                and ahead < RECORDING_AHEAD_SECONDS
            ):
                return False  # arriving in real time: live
            # Look again when the watch could end; the end (AudioStop) wakes it at once.
            watch_end = (
                now + ARRIVAL_WATCH_SECONDS / 2 if first is None else first + ARRIVAL_WATCH_SECONDS
            )
            look = min(deadline, watch_end)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.end_in_hand.wait(), max(look - now, 0.01))
        return True

    def commits(self, held: bytes, config: SessionConfig) -> list[bytes] | None:
        """Return the pieces to commit if the recording ``held`` goes in manual mode."""
        if not self._enabled or config.vad is None:
            return None
        seconds = len(held) / (config.sample_rate * SAMPLE_WIDTH)
        pieces = split_at_silences(held, config.sample_rate, config.vad.silence_duration_ms)
        if pieces is None:
            _LOGGER.debug(
                "A recording (%.1f s in hand), but no speech found or more than 60 s "
                "without a silence: VAD mode, paced",
                seconds,
            )
            return None
        _LOGGER.debug(
            "A recording (%.1f s in hand) before the session was configured: manual "
            "mode, %d commit(s) at its silences so far",
            seconds,
            len(pieces),
        )
        return pieces
