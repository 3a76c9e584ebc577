"""What the server needs to know to open Qwen sessions; built once from the command line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from qwen_asr_realtime import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    ENDPOINTING_HOME_ASSISTANT,
    ENDPOINTING_QWEN,
    MAX_CONTEXT_CHARS,
    MAX_REQUEST_SECONDS,
    AudioOptions,
    RetryPolicy,
    SessionConfig,
    Timeouts,
    VadConfig,
    trim_context,
)

from .access import DEFAULT_FILTER, ClientFilter
from .limits import (
    DEFAULT_IDLE_CONNECTION_SECONDS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_MAX_SESSIONS,
    DEFAULT_MAX_SESSIONS_PER_MINUTE,
    DEFAULT_MIN_AUDIO_RATE,
    DEFAULT_SLOW_AUDIO_GRACE_SECONDS,
    default_sessions_per_client,
)

if TYPE_CHECKING:
    from .fallback import FallbackEngine


class Endpointing(StrEnum):
    """Who decides that the speaker has finished; the integration's setting has the same words."""

    HOME_ASSISTANT = ENDPOINTING_HOME_ASSISTANT  # the client's VAD: AudioStop ends the stream
    QWEN = ENDPOINTING_QWEN  # Qwen's server VAD: answer at its first completed utterance

    @classmethod
    def parse(cls, text: str) -> Endpointing:
        """Return the value ``text`` names, the earlier ``ha`` and ``server`` included."""
        return cls(_ENDPOINTING_ALIASES.get(text, text))


# The earlier values of --endpointing and the add-on's option: configurations keep working.
_ENDPOINTING_ALIASES = {"ha": Endpointing.HOME_ASSISTANT, "server": Endpointing.QWEN}


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Hold what the server needs to open Qwen sessions; the API key is never shown."""

    api_key: str = field(repr=False)  # never printed, see __repr__ of the dataclass
    endpoint: str = DEFAULT_REGION
    model: str = DEFAULT_MODEL
    # Forced language (None: automatic). Used instead of the request's when force_language.
    language: str | None = None
    force_language: bool = False
    vad: VadConfig | None = field(default_factory=VadConfig)
    context: str = ""
    endpointing: Endpointing = Endpointing.HOME_ASSISTANT
    timeouts: Timeouts = field(default_factory=Timeouts)
    # ws:// to another machine (the key in clear text) only when the user asked for it.
    allow_insecure: bool = False
    # Connecting again after a capacity/rate limit, while the request's audio is held.
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Coalescing of small pieces into appends, and backlog pacing (see audio_out.py).
    audio: AudioOptions = field(default_factory=AudioOptions)
    # A request that lasts this long is answered with its transcript so far (HA stops far
    # earlier); --max-request-seconds.
    max_request_seconds: float = MAX_REQUEST_SECONDS
    # Who may connect (--allow-clients), how many Qwen sessions at once (None: no limit),
    # and the audio per UTC day (None: no limit) counted in state_file.
    allow_clients: ClientFilter = DEFAULT_FILTER
    max_sessions: int | None = DEFAULT_MAX_SESSIONS
    daily_audio_seconds: float | None = None
    state_file: Path | None = None
    # While a request is open, a client silent for this long is considered gone.
    request_idle_seconds: float = 30.0
    # Fairness between clients (the README's security section): a connection
    # without a request is closed after idle_connection_seconds; connections per client
    # address and in all; Qwen sessions one address may hold (None: half of max_sessions,
    # rounded up) and open per minute (None: no limit); a request whose audio arrives at
    # less than min_audio_rate x real time after slow_audio_grace_seconds is ended (0: never).
    idle_connection_seconds: float = DEFAULT_IDLE_CONNECTION_SECONDS
    max_connections: int | None = DEFAULT_MAX_CONNECTIONS
    max_connections_per_client: int | None = DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    max_sessions_per_client: int | None = None
    max_sessions_per_minute: int | None = DEFAULT_MAX_SESSIONS_PER_MINUTE
    min_audio_rate: float = DEFAULT_MIN_AUDIO_RATE
    slow_audio_grace_seconds: float = DEFAULT_SLOW_AUDIO_GRACE_SECONDS
    # Benchmark baseline only: hold all audio until AudioStop, as upload-style servers do.
    buffered: bool = False
    # The home's names from Home Assistant (--hass-url): called at each request's start.
    home_names: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    # --fallback-uri: the Wyoming ASR service that answers when Qwen fails (fallback.py).
    fallback: FallbackEngine | None = field(default=None, compare=False)

    @property
    def qwen_ends_requests(self) -> bool:
        """Tell whether Qwen's VAD ends a request, not Home Assistant's (endpointing qwen)."""
        return self.endpointing is Endpointing.QWEN

    @property
    def sessions_per_client(self) -> int | None:
        """Qwen sessions one client address may hold at once (--max-sessions-per-client)."""
        if self.max_sessions_per_client is not None:
            return self.max_sessions_per_client
        return default_sessions_per_client(self.max_sessions)

    def session_config(
        self, language: str | None, extra_context: str = "", model: str | None = None
    ) -> SessionConfig:
        """Return one session's configuration: the settings' context, the request's, the home's."""
        home = self.home_names() if self.home_names is not None else ""
        # The user's own text first and the home's (longest) last: trimming cuts the end.
        context = "\n".join(part for part in (self.context, extra_context, home) if part)
        return SessionConfig(
            model=model or self.model,
            language=language,
            vad=self.vad,
            context=trim_context(context, MAX_CONTEXT_CHARS),
        )


def request_context(names: object, terms: object) -> str:
    """Context text from a Transcribe event's ``transcript_names`` / ``transcript_terms``.

    Names come first so that, when the text must be trimmed, terms are dropped first.
    """
    lines = [*_strings(names), *_strings(terms)]
    return "\n".join(dict.fromkeys(lines))  # ordered de-duplication


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]
