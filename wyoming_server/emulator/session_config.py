"""Session configuration: defaults, validation of ``session.update`` and the wire echo."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from qwen_asr_realtime import (
    AUDIO_FORMATS,
    DEFAULT_SAMPLE_RATE,
    DEFAULT_SILENCE_MS,
    DEFAULT_VAD_THRESHOLD,
    LANGUAGES,
    MAX_CONTEXT_CHARS,
    SAMPLE_RATES,
    SILENCE_MS_RANGE,
    VAD_SERVER,
    VAD_THRESHOLD_RANGE,
)


class ConfigError(ValueError):
    """A ``session.update`` the service would answer with an ``error`` event."""

    def __init__(self, message: str, *, param: str, code: str = "invalid_value") -> None:
        """Keep ``message`` for the error event, with the ``param`` it names and its ``code``."""
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


@dataclass(frozen=True, slots=True)
class TurnDetection:
    """Server VAD settings: the speech threshold and the silence that ends a turn."""

    threshold: float = DEFAULT_VAD_THRESHOLD
    silence_duration_ms: int = DEFAULT_SILENCE_MS


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """A session's configuration as the client set it with ``session.update``."""

    input_audio_format: str = "pcm"
    sample_rate: int = DEFAULT_SAMPLE_RATE
    language: str | None = None  # None = automatic detection
    corpus_text: str | None = None
    # Whether the client ever sent an ``input_audio_transcription`` object (echoed, else null).
    transcription_given: bool = False
    turn_detection: TurnDetection | None = TurnDetection()

    @property
    def manual(self) -> bool:
        """Whether the client commits the audio itself (no server VAD)."""
        return self.turn_detection is None

    def to_wire(
        self, *, session_id: str, model: str, response_flags: bool = False
    ) -> dict[str, Any]:
        """Return the ``session`` object of session.created/updated.

        ``response_flags`` adds the ``create_response``/``interrupt_response`` flags a live
        ``session.updated`` carries.
        """
        transcription: dict[str, Any] | None = None
        if self.transcription_given:
            transcription = {}
            if self.language is not None:
                transcription["language"] = self.language
            if self.corpus_text is not None:
                transcription["corpus"] = {"text": self.corpus_text}
        turn: dict[str, Any] | None = None
        if self.turn_detection is not None:
            turn = {
                "type": VAD_SERVER,
                "threshold": self.turn_detection.threshold,
                "silence_duration_ms": self.turn_detection.silence_duration_ms,
            }
            if response_flags:
                turn.update(create_response=True, interrupt_response=True)
        return {
            "id": session_id,
            "object": "realtime.session",
            "model": model,
            "modalities": ["text"],
            "input_audio_format": self.input_audio_format,
            "sample_rate": self.sample_rate,
            "input_audio_transcription": transcription,
            "turn_detection": turn,
        }


def _quoted(values: tuple[object, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _audio_format(value: object, *, accept_pcm16: bool) -> str:
    if value == "pcm16" and accept_pcm16:
        return "pcm"
    if not isinstance(value, str) or value not in AUDIO_FORMATS:
        raise ConfigError(
            f"Invalid value: '{value}'. Supported values are: {_quoted(AUDIO_FORMATS)}.",
            param="session.input_audio_format",
        )
    return value


def _sample_rate(value: object) -> int:
    if not _is_number(value) or value not in SAMPLE_RATES:
        raise ConfigError(
            f"Invalid value: '{value}'. Supported values are: {_quoted(SAMPLE_RATES)}.",
            param="session.sample_rate",
        )
    assert isinstance(value, int | float)
    return int(value)


def _transcription(value: object, current: SessionConfig) -> tuple[str | None, str | None, bool]:
    if value is None:
        return None, None, False
    if not isinstance(value, dict):
        raise ConfigError(
            "Invalid type: expected an object or null.",
            param="session.input_audio_transcription",
            code="invalid_type",
        )
    language, corpus_text = current.language, current.corpus_text
    if "language" in value:
        language = value["language"]
        if language is not None and (not isinstance(language, str) or language not in LANGUAGES):
            raise ConfigError(
                f"Invalid value: '{language}'. Supported values are: {_quoted(tuple(LANGUAGES))}.",
                param="session.input_audio_transcription.language",
            )
    if "corpus" in value:
        corpus = value["corpus"]
        if corpus is None:
            corpus_text = None
        elif not isinstance(corpus, dict):
            raise ConfigError(
                "Invalid type: expected an object.",
                param="session.input_audio_transcription.corpus",
                code="invalid_type",
            )
        else:
            corpus_text = corpus.get("text")
            if corpus_text is not None and not isinstance(corpus_text, str):
                raise ConfigError(
                    "Invalid type: expected a string.",
                    param="session.input_audio_transcription.corpus.text",
                    code="invalid_type",
                )
            if corpus_text is not None and len(corpus_text) > MAX_CONTEXT_CHARS:
                raise ConfigError(
                    f"Context text is too long (more than {MAX_CONTEXT_CHARS} characters).",
                    param="session.input_audio_transcription.corpus.text",
                )
    # ``model`` (always null from the SDKs) and unknown keys are ignored.
    return language, corpus_text, True


def _turn_detection(value: object, current: SessionConfig) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(
            "Invalid type: expected an object or null.",
            param="session.turn_detection",
            code="invalid_type",
        )
    kind = value.get("type")
    if kind != VAD_SERVER:
        raise ConfigError(
            f"Invalid value: '{kind}'. Supported values are: '{VAD_SERVER}'.",
            param="session.turn_detection.type",
        )
    base = current.turn_detection or TurnDetection()
    threshold = value.get("threshold", base.threshold)
    low, high = VAD_THRESHOLD_RANGE
    if threshold is None:
        threshold = base.threshold
    if not _is_number(threshold) or not low <= threshold <= high:
        raise ConfigError(
            f"Invalid value: '{threshold}'. Expected a number in [{low}, {high}].",
            param="session.turn_detection.threshold",
        )
    silence = value.get("silence_duration_ms", base.silence_duration_ms)
    if silence is None:
        silence = base.silence_duration_ms
    low_ms, high_ms = SILENCE_MS_RANGE
    if not _is_number(silence) or int(silence) != silence or not low_ms <= silence <= high_ms:
        raise ConfigError(
            f"Invalid value: '{silence}'. Expected an integer in [{low_ms}, {high_ms}].",
            param="session.turn_detection.silence_duration_ms",
        )
    # ``prefix_padding_ms`` and unknown keys (sent by the SDKs) are ignored.
    return TurnDetection(threshold=float(threshold), silence_duration_ms=int(silence))


def merge_session_update(
    current: SessionConfig, session: object, *, accept_pcm16: bool
) -> SessionConfig:
    """Return the configuration after applying a ``session`` object; raise ConfigError.

    Only fields present in the update change; everything is validated before anything is
    applied, so a rejected update keeps the old configuration.
    """
    if not isinstance(session, dict):
        raise ConfigError(
            "Missing required parameter: 'session'.",
            param="session",
            code="missing_required_parameter",
        )
    changes: dict[str, Any] = {}
    if session.get("input_audio_format") is not None:
        changes["input_audio_format"] = _audio_format(
            session["input_audio_format"], accept_pcm16=accept_pcm16
        )
    if session.get("sample_rate") is not None:
        changes["sample_rate"] = _sample_rate(session["sample_rate"])
    if "input_audio_transcription" in session:
        language, corpus_text, given = _transcription(session["input_audio_transcription"], current)
        changes.update(language=language, corpus_text=corpus_text, transcription_given=given)
    if "turn_detection" in session:
        changes["turn_detection"] = _turn_detection(session["turn_detection"], current)
    # voice, output_audio_format, modalities, misplaced top-level language/corpus: ignored.
    return dataclasses.replace(current, **changes)
