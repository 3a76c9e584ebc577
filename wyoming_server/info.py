"""The Wyoming ``Info`` this server answers ``Describe`` with."""

from __future__ import annotations

from qwen_asr_realtime import LANGUAGES
from wyoming.info import AsrModel, AsrProgram, Attribution, Info

from . import __version__
from .settings import Endpointing, ServerSettings

ATTRIBUTION = Attribution(
    name="Alibaba Cloud", url="https://www.alibabacloud.com/help/en/model-studio/qwen-asr-realtime"
)


def build_info(settings: ServerSettings) -> Info:
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
        requires_external_vad=settings.endpointing is not Endpointing.SERVER,
    )
    return Info(asr=[program])
