"""The two speech-to-text engines a user can put in an Assist pipeline, set up through HA's own
flows: the qwen_asr entity, and HA's core ``wyoming`` integration in front of
``wyoming-qwen-asr serve``. Both talk to the same emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .assist import create_pipeline
from .entries import Entry, add_qwen_entry, add_wyoming_entry, set_settings, ws_call
from .hass_process import HassProcess
from .hass_ws import HassWebSocket
from .services import EmulatorProcess, WyomingServerProcess

# Endpointing modes, by who decides where speech ends: Home Assistant's VAD, or the service
# (Qwen's server VAD) with the transcript returned as soon as it has one.
HA_ENDPOINTING = "ha"
SERVICE_ENDPOINTING = "service"
MODES = (HA_ENDPOINTING, SERVICE_ENDPOINTING)
# Each mode's value of the integration's option and of the server's --endpointing (the same).
SETTING = {HA_ENDPOINTING: "home_assistant", SERVICE_ENDPOINTING: "qwen"}


@dataclass
class Engine:
    name: str
    entry: Entry
    pipeline_id: str
    set_mode: Callable[[str], None]
    server: WyomingServerProcess | None = None


def _pipeline(hass: HassProcess, name: str, stt_engine: str) -> str:
    async def create() -> str:
        async with HassWebSocket(hass.url, hass.onboard().token) as ws:
            return await create_pipeline(ws, name, stt_engine)

    return asyncio.run(create())


def _delete_pipeline(hass: HassProcess, pipeline_id: str) -> None:
    ws_call(hass, "assist_pipeline/pipeline/delete", pipeline_id=pipeline_id)


@contextmanager
def qwen_engine(hass: HassProcess, emulator: EmulatorProcess, api_key: str) -> Iterator[Engine]:
    entry = add_qwen_entry(hass, emulator.url, api_key)
    pipeline_id = _pipeline(hass, "Qwen ASR entity", entry.entity_id)

    def set_mode(mode: str) -> None:
        set_settings(hass, entry, {"endpointing": SETTING[mode]})

    try:
        yield Engine("qwen_asr", entry, pipeline_id, set_mode)
    finally:
        _delete_pipeline(hass, pipeline_id)
        hass.rest().delete_entry(entry.entry_id)


@contextmanager
def wyoming_engine(hass: HassProcess, emulator: EmulatorProcess, api_key: str) -> Iterator[Engine]:
    with WyomingServerProcess(qwen_url=emulator.url, api_key=api_key) as server:
        server.start()
        entry = add_wyoming_entry(hass, server.port)
        pipeline_id = _pipeline(hass, "Wyoming Qwen ASR", entry.entity_id)

        def set_mode(mode: str) -> None:
            if server.endpointing != SETTING[mode] or not server.running:
                server.restart(endpointing=SETTING[mode])
                # HA reads the service's info (does it need HA's VAD?) when the entry loads.
                hass.rest().post(f"/api/config/config_entries/entry/{entry.entry_id}/reload")

        try:
            yield Engine("wyoming", entry, pipeline_id, set_mode, server)
        finally:
            _delete_pipeline(hass, pipeline_id)
            hass.rest().delete_entry(entry.entry_id)


ENGINES = {"qwen_asr": qwen_engine, "wyoming": wyoming_engine}
