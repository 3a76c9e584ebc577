"""One Assist pipeline run whose speech-to-text stage is this integration."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from homeassistant.components import assist_pipeline
from homeassistant.components.assist_pipeline.pipeline import (
    async_get_pipeline,
    async_update_pipeline,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_asr.diagnostics import async_get_config_entry_diagnostics

from .conftest import chunks, pcm_metadata, stt_diagnostics, stt_entity_id

KITCHEN = "turn on the kitchen lights"


async def _run_stt_pipeline(
    hass: HomeAssistant, emulator: Any, entry: MockConfigEntry, speech_pcm: Callable[..., bytes]
) -> tuple[str, list[assist_pipeline.PipelineEvent]]:
    """One speech-to-text-only run of the default pipeline with the entry's entity."""
    assert await async_setup_component(hass, "assist_pipeline", {})
    await hass.async_block_till_done()
    entity_id = stt_entity_id(hass, entry)
    pipeline = async_get_pipeline(hass)
    await async_update_pipeline(hass, pipeline, stt_engine=entity_id, stt_language="en")
    emulator.recognizer_factory.transcripts = [KITCHEN]
    events: list[assist_pipeline.PipelineEvent] = []
    await assist_pipeline.async_pipeline_from_audio_stream(
        hass,
        context=Context(),
        event_callback=events.append,
        stt_metadata=pcm_metadata("en"),
        stt_stream=chunks(speech_pcm("turn_on_kitchen_lights"), 1024),
        pipeline_id=pipeline.id,
        start_stage=assist_pipeline.PipelineStage.STT,
        end_stage=assist_pipeline.PipelineStage.STT,
    )
    return entity_id, events


async def test_assist_pipeline_uses_qwen(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    """The pipeline streams the microphone audio to Qwen and gets the transcript."""
    entity_id, events = await _run_stt_pipeline(hass, emulator, setup_entry, speech_pcm)
    by_type = {event.type: event.data for event in events}
    assert by_type[assist_pipeline.PipelineEventType.STT_START]["engine"] == entity_id
    assert by_type[assist_pipeline.PipelineEventType.STT_END] == {"stt_output": {"text": KITCHEN}}
    assert assist_pipeline.PipelineEventType.ERROR not in by_type
    assert emulator.sessions[-1].audio_bytes > 0


async def test_pipeline_of_this_home_assistant_shows_no_partials(
    hass: HomeAssistant,
    emulator: Any,
    setup_entry: MockConfigEntry,
    speech_pcm: Callable[..., bytes],
) -> None:
    """What diagnostics' ``partial_results`` says, checked through HA's own pipeline: on HA
    with the progress entry point the entity yields partials during the run, and no
    pipeline event carries one (the pipeline takes only the final transcript)."""
    _, events = await _run_stt_pipeline(hass, emulator, setup_entry, speech_pcm)
    diagnostics = await async_get_config_entry_diagnostics(hass, setup_entry)
    features = diagnostics["home_assistant_features"]["partial_results"]
    yielded = stt_diagnostics(diagnostics)["last_session"].get("partials_yielded", 0)
    assert (yielded > 0) is features["yielded_to_home_assistant"]
    # Every event HA emitted, apart from the final STT_END, carries no transcript text.
    texts = [
        json.dumps(event.data, default=str)
        for event in events
        if event.type is not assist_pipeline.PipelineEventType.STT_END
    ]
    shown = any("kitchen" in text for text in texts)
    assert shown is features["shown_by_assist_pipeline"] is False
