"""Opening one Wyoming request: the one place that knows both kinds of request.

What a Transcribe asks for: the language is the request's unless ``--language`` forces one;
the model is the request's only when it names a Qwen model; the request's names and terms
become extra context. The gate (limits.py) admits the request before its Qwen session
opens: no slot, no session. The request is a ``TranscriptionRequest`` (request.py), or with
``--fallback-uri`` a ``FallbackRequest`` (fallback_request.py) around it, for which a
refused request is the fallback's to answer, not an Error. The handler knows either only
as a ``request_types.Request``.
"""

from __future__ import annotations

import functools
import logging

from qwen_asr_realtime import MODELS, normalize_language
from wyoming.asr import Transcribe

from .fallback_request import FallbackRequest
from .limits import Refusal, RequestGate
from .qwen_client import new_client
from .request import TranscriptionRequest
from .request_types import Emit, OnFailure, Request
from .settings import ServerSettings, request_context

_LOGGER = logging.getLogger(__name__)


def request_language(settings: ServerSettings, transcribe: Transcribe | None) -> str | None:
    """Return the language of the request ``transcribe`` (None: automatic)."""
    if settings.force_language:
        return settings.language
    requested = transcribe.language if transcribe else None
    return normalize_language(requested if isinstance(requested, str) else None)


def open_request(
    settings: ServerSettings,
    gate: RequestGate,
    transcribe: Transcribe | None,
    *,
    emit: Emit,
    on_failure: OnFailure,
    client: str | None = None,
) -> Request | Refusal:
    """Start the request for ``transcribe`` (None: audio without a Transcribe).

    ``client`` is the address it comes from. Without a fallback, a request the gate
    refuses is not started: the Refusal is returned for the caller to report.
    """
    language = request_language(settings, transcribe)
    name = transcribe.name if transcribe else None
    model = name if isinstance(name, str) and name in MODELS else settings.model
    context = (
        request_context(transcribe.transcript_names, transcribe.transcript_terms)
        if transcribe
        else ""
    )
    qwen = functools.partial(
        admitted_qwen_request,
        settings,
        gate,
        language=language,
        model=model,
        extra_context=context,
        client=client,
    )
    request: Request | Refusal
    if settings.fallback is None:
        request = qwen(emit=emit, on_failure=on_failure)
        if isinstance(request, Refusal):
            return request  # the caller reports it (and logs it, rate-limited per client)
    else:  # the breaker or the gate may send it to the fallback at start
        request = FallbackRequest(
            settings, settings.fallback, qwen, language=language, emit=emit, on_failure=on_failure
        )
    _LOGGER.debug("Transcription started (language %s, model %s)", language or "auto", model)
    request.start()
    return request


def admitted_qwen_request(
    settings: ServerSettings,
    gate: RequestGate,
    *,
    language: str | None,
    model: str,
    extra_context: str,
    emit: Emit,
    on_failure: OnFailure,
    client: str | None = None,
) -> TranscriptionRequest | Refusal:
    """Return a Qwen request holding a gate slot, or the gate's Refusal.

    The slot is held until the request is answered or its session ends.
    """
    admitted = gate.admit(client)  # before the session opens: no slot, no session
    if isinstance(admitted, Refusal):
        return admitted
    config = settings.session_config(language, extra_context, model)
    request = TranscriptionRequest(
        settings, new_client(settings, config), language=language, emit=emit, on_failure=on_failure
    )
    request.on_session_end = admitted.release
    request.free_slot = admitted.free_slot
    if gate.budget is not None:
        request.limit_audio(admitted)  # counted as audio is written upstream
    return request
