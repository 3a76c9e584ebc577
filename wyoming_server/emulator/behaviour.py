"""Knobs for what the protocol reference leaves undocumented ([INF]), and switchable faults.

Two profiles (docs/protocol.md): ``observed`` (the default) plays the live service as public
evidence shows it; ``documented`` plays the official documentation, as the emulator did
before that evidence was gathered. ``QWEN_EMULATOR_PROFILE`` picks the profile of every
emulator created without an explicit ``Behaviour`` (tests, the command line).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

StallPoint = Literal["session.update", "session.finish"]
# The service's account-wide limits (see limits.py); "connections" arrives after the upgrade.
RateLimit = Literal["connections", "requests", "burst"]
Profile = Literal["observed", "documented"]
PROFILES: tuple[Profile, ...] = get_args(Profile)
PROFILE_ENV = "QWEN_EMULATOR_PROFILE"
# Server VAD's events when an utterance ends: "documented" speech_stopped, committed,
# item.created; "stopped-only" speech_stopped and no committed/item.created (the live log);
# "committed-only" committed without speech_stopped (another live client's report).
VadEndEvents = Literal["documented", "stopped-only", "committed-only"]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Choices for behaviours the real service does not document.

    The defaults are the ``observed`` profile; ``Behaviour.profile("documented")`` gives the
    documented one. Each field that differs between them says so.
    """

    # Handshake with a missing/unknown ``model``: reject the upgrade, or accept, send ``error``
    # and close.
    unknown_model: Literal["reject", "error"] = "reject"
    unknown_model_status: int = 404
    # The dashscope SDK sends ``pcm16`` when called without TranscriptionParams; the 2026 docs
    # show it rejected with invalid_value (observed), earlier examples accept it (documented).
    accept_pcm16: bool = False
    # ``input_audio_buffer.commit`` while server VAD is on.
    commit_in_vad: Literal["error", "ignore"] = "error"
    # Manual mode: audio still uncommitted at ``session.finish``.
    finish_uncommitted: Literal["commit", "drop"] = "commit"
    # Manual mode: more than 60 s of audio before ``commit``.
    manual_overflow: Literal["error", "failed"] = "error"
    # Manual mode: whether ``conversation.item.created`` follows ``committed``.
    manual_item_created: bool = True
    # Manual mode: stream partials while audio is appended (before any commit).
    manual_partials_before_commit: bool = False
    # ``session.update`` after audio has been appended.
    update_after_audio: Literal["apply", "reject"] = "apply"
    # Events received after ``session.finish``.
    after_finish: Literal["ignore", "error"] = "ignore"
    # Close with 1000 this long after ``session.finished`` unless the client closed first;
    # None: never, the client closes (observed; documented 2.0).
    close_grace_seconds: float | None = None
    # Close a session that received no audio for this long (1000 "idle timeout"); None =
    # never (documented). Observed: one live client keeps sessions alive against a 60 s limit.
    idle_timeout_seconds: float | None = 60.0
    # After a server-side ``error`` (``server_error``) the socket closes (observed); client
    # errors (``invalid_request_error``) keep it open in both profiles.
    close_after_server_error: bool = True
    # Ids: prefix + 21 characters that may include "-" (observed: each id has one), or
    # letters and digits only (documented examples).
    ids_with_dash: bool = True
    # ``session.updated``'s ``turn_detection`` also carries ``create_response: true,
    # interrupt_response: true`` (observed).
    echo_response_flags: bool = True
    # Server VAD: the events that end an utterance (see VadEndEvents).
    vad_end_events: VadEndEvents = "stopped-only"
    # ``previous_item_id`` of the first item of a session (OpenAI uses null, a 3P server "").
    first_previous_item_id: str | None = None
    # ``language`` reported when the client did not request one (auto-detection).
    default_language: str = "en"
    emotion: str = "neutral"
    # Partials: cadence in ms of speech audio, and how a hypothesis splits into text/stash:
    # "stash-only" (observed) leaves ``text`` empty and sends the whole hypothesis in
    # ``stash``; "text+stash" (documented) freezes all but ``tentative_words`` in ``text``.
    partial_interval_ms: int = 300
    partial_style: Literal["text+stash", "stash-only"] = "stash-only"
    tentative_words: int = 2
    # The hypothesis is revised between partials (observed; revisions.py): a new word first
    # shows as a fragment, some words first in a wrong form, punctuation comes and goes.
    partial_revisions: bool = True
    # One last ``.text`` carrying the final transcript between item.created and completed
    # (in ``text``, with an empty ``stash``).
    final_refinement_partial: bool = True
    # Context echo (seen by public clients): a server-VAD session that ends without any
    # detected speech gets one item whose transcript is the session's context text.
    context_echo: bool = False
    # Energy VAD: frame size, minimum voiced run for an onset, audio kept before the onset
    # (fed to the recognizer), and the threshold mapping dBFS = at_zero + per_unit * threshold.
    vad_frame_ms: int = 20
    vad_min_speech_ms: int = 60
    vad_prefix_padding_ms: int = 300
    vad_dbfs_at_zero: float = -45.0
    vad_dbfs_per_unit: float = 20.0
    # A backlog sent far faster than real time: the VAD hears at most this far ahead of real
    # time and loses the rest (backlog.py); None: every byte is heard, however fast it came.
    vad_backlog_limit_ms: int | None = None
    # Finalizing takes time [INF]: an item's ``completed``/``failed`` is sent this long after
    # its audio ended (speech_stopped, commit or finish). Items finalize independently, so
    # items committed together are final together (benchmarks: 0 and 300 ms).
    finalize_delay_ms: int = 0

    @classmethod
    def profile(cls, name: Profile, **changes: Any) -> Behaviour:
        """Return the behaviour of profile ``name``, with ``changes`` on top."""
        base = cls() if name == "observed" else cls(**_DOCUMENTED)
        return dataclasses.replace(base, **changes)

    @classmethod
    def from_env(cls, **changes: Any) -> Behaviour:
        """Return the profile ``QWEN_EMULATOR_PROFILE`` names (default observed), changed."""
        return cls.profile(profile_from_env(), **changes)


# What the documented profile changes (the emulator before the live evidence).
_DOCUMENTED: dict[str, Any] = {
    "accept_pcm16": True,
    "close_grace_seconds": 2.0,
    "idle_timeout_seconds": None,
    "close_after_server_error": False,
    "ids_with_dash": False,
    "echo_response_flags": False,
    "vad_end_events": "documented",
    "partial_style": "text+stash",
    "partial_revisions": False,
}


def profile_from_env() -> Profile:
    """Return the profile ``QWEN_EMULATOR_PROFILE`` names (observed when unset).

    Raises ValueError for an unknown name.
    """
    name = os.environ.get(PROFILE_ENV, "").strip() or "observed"
    for profile in PROFILES:
        if name == profile:
            return profile
    raise ValueError(f"{PROFILE_ENV}={name!r}: expected one of {', '.join(PROFILES)}")


@dataclass(slots=True)
class Faults:
    """Failure switches; mutable at runtime.

    Sessions read them live, so a change applies to open sessions too (except
    ``stall``/``handshake_delay_seconds``, which act at connection start).
    """

    event_delay_seconds: float = 0.0  # delay before every server event
    handshake_delay_seconds: float = 0.0  # delay inside the HTTP upgrade
    completed_delay_seconds: float = 0.0  # extra delay before each ``.completed``/``.failed``
    drop_after_audio_ms: int | None = None  # abort the TCP connection after N ms of audio
    stall: bool = False  # accept the upgrade, then never send anything
    stall_on: StallPoint | None = None  # stop answering from this client event on
    error_after_events: int | None = None  # inject a server_error after N server events
    fail_item: int | None = None  # 1-based item number (per session) that gets ``.failed``
    reject_status: int | None = None  # reject every upgrade with this HTTP status
    silence_only: bool = False  # the VAD never detects speech
    duplicate_partials: bool = False  # every ``.text`` event is sent twice
    # Capacity/rate limits: the next ``rate_limit_sessions`` connections (None: all) are
    # refused with this limit, as an ``error`` event after the upgrade or as HTTP 429.
    rate_limit: RateLimit | None = None
    rate_limit_sessions: int | None = None
    rate_limit_via: Literal["error", "http"] = "error"
    # Finalizing slowly but alive: delay before each server event after ``session.finish``.
    finish_event_delay_seconds: float = 0.0
    # The socket drops right after ``session.finish``, without session.finished (seen by a
    # live client): "after-items" once the items' events are sent, "at-once" before the
    # events session.finish causes (an open utterance's flush is lost).
    drop_after_finish: Literal["after-items", "at-once"] | None = None

    def reset(self) -> None:
        """Switch every fault off."""
        for spec in fields(self):
            setattr(self, spec.name, getattr(Faults(), spec.name))
