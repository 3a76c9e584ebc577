"""The Wyoming ``Info`` this server answers ``Describe`` with, and the engine it names.

With a fallback, the ASR program's description ends with the engine in use; ``health``
reads it back with ``engine_in_use``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from qwen_asr_realtime import LANGUAGES, redact
from wyoming.info import AsrModel, AsrProgram, Attribution, Info

from . import __version__

if TYPE_CHECKING:
    from .fallback import FallbackEngine
    from .settings import ServerSettings

# Info has no field for it: the ASR program's description carries the engine in use.
IN_USE_PREFIX = " In use: "

ATTRIBUTION = Attribution(
    name="Alibaba Cloud", url="https://www.alibabacloud.com/help/en/model-studio/qwen-asr-realtime"
)


def build_info(settings: ServerSettings) -> Info:
    """Describe this server: one ASR program with one model, Qwen's languages."""
    model = AsrModel(
        name=settings.model,
        attribution=ATTRIBUTION,
        installed=True,
        description="Qwen3-ASR-Flash-Realtime (streaming, cloud)",
        version=None,
        languages=list(LANGUAGES),
    )
    program = AsrProgram(
        name="qwen-asr",
        attribution=ATTRIBUTION,
        installed=True,
        description="Streaming speech-to-text with Alibaba Qwen3-ASR-Flash-Realtime",
        version=__version__,
        models=[model],
        supports_transcript_streaming=True,
        # Only with server endpointing can Home Assistant skip its own VAD.
        requires_external_vad=not settings.qwen_ends_requests,
    )
    return Info(asr=[program])


def info_with_engine(
    info: Info, engine: FallbackEngine | None, *, budget_used_up: bool = False
) -> Info:
    """Return ``info`` with the engine in use in its ASR program's description."""
    if engine is None:
        return info
    # Sent to every client that asks (and kept by Docker from ``health``): the failure in
    # it passes the outbound boundary.
    note = IN_USE_PREFIX + redact(engine.in_use(budget_used_up=budget_used_up))
    programs = [
        dataclasses.replace(program, description=(program.description or "") + note)
        for program in info.asr
    ]
    return dataclasses.replace(info, asr=programs)


def engine_in_use(description: str | None) -> str | None:
    """Return the engine named by ``info_with_engine``, or None (no fallback configured)."""
    if not description or IN_USE_PREFIX not in description:
        return None
    return description.split(IN_USE_PREFIX, 1)[1]
