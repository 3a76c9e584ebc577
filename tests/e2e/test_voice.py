"""Voice through HA's websocket API: ``assist_pipeline/run`` with 10 ms binary audio frames at
real time, for both engines, both endpointing modes, on each HA version."""

from __future__ import annotations

import pytest

from tests.support.e2e.assist import AssistRun, run_pipeline, speech_pcm
from tests.support.e2e.engines import HA_ENDPOINTING, MODES, SERVICE_ENDPOINTING, Engine
from tests.support.e2e.entries import flows_in_progress, wait_for, wait_until_loaded
from tests.support.e2e.flows import DOMAIN, abort_text
from tests.support.e2e.hass_process import HassProcess
from tests.support.e2e.hass_ws import HassWebSocket
from tests.support.e2e.services import EmulatorProcess

from .conftest import API_KEY, COMMAND, KITCHEN_LIGHT

NEW_KEY = "sk-e2e-rotated-key"


def _skips_ha_vad(hass_version: str) -> bool:
    """HA 2026.5+ lets an engine that detects the end of speech itself turn HA's VAD off."""
    return tuple(int(part) for part in hass_version.split(".")[:2]) >= (2026, 5)


def assert_stt_order(run: AssistRun, mode: str, hass_version: str) -> None:
    types = run.types
    assert types[:2] == ["run-start", "stt-start"], types
    assert types[-2:] == ["stt-end", "run-end"], types
    middle = types[2:-2]
    if mode == HA_ENDPOINTING:
        assert middle == ["stt-vad-start", "stt-vad-end"], types
    elif _skips_ha_vad(hass_version):
        assert middle == [], types  # HA's VAD is off: the service ends the speech
    else:
        # HA 2025.x always runs its VAD; the service's transcript may end the run first.
        assert middle in (["stt-vad-start"], ["stt-vad-start", "stt-vad-end"]), types


async def _run(hass: HassProcess, engine: Engine, **kwargs: object) -> AssistRun:
    async with HassWebSocket(hass.url, hass.onboard().token) as ws:
        return await run_pipeline(ws, engine.pipeline_id, speech_pcm(), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
async def test_stt_transcript_and_event_order(
    hass: HassProcess, hass_version: str, engine: Engine, mode: str
) -> None:
    engine.set_mode(mode)
    run = await _run(hass, engine)
    assert run.transcript == COMMAND
    assert_stt_order(run, mode, hass_version)
    start = run.data("stt-start")
    assert start["engine"] == engine.entry.entity_id
    assert start["metadata"]["sample_rate"] == 16000
    # Audio went at real time: the run took at least as long as the speech sent.
    assert run.frames_sent * 0.01 <= run.last_frame - run.started + 0.05


@pytest.mark.parametrize("mode", MODES)
async def test_stt_to_intent_turns_on_the_kitchen_lights(
    hass: HassProcess, engine: Engine, mode: str
) -> None:
    engine.set_mode(mode)
    rest = hass.rest()
    rest.post("/api/services/light/turn_off", {"entity_id": KITCHEN_LIGHT})
    wait_for(lambda: rest.state(KITCHEN_LIGHT)["state"] == "off", what="light off")

    run = await _run(hass, engine, end_stage="intent")

    types = run.types
    assert types[0] == "run-start" and types[-1] == "run-end", types
    assert types.index("stt-end") < types.index("intent-start") < types.index("intent-end")
    assert "error" not in types, run.events
    assert run.data("intent-start")["intent_input"] == COMMAND
    response = run.data("intent-end")["intent_output"]["response"]
    assert response["response_type"] == "action_done", response
    assert KITCHEN_LIGHT in {target["id"] for target in response["data"]["success"]}
    wait_for(lambda: rest.state(KITCHEN_LIGHT)["state"] == "on", what="kitchen lights on")


async def test_revoked_key_errors_and_starts_reauth(
    hass: HassProcess, engine: Engine, live_emulator: EmulatorProcess
) -> None:
    live_emulator.restart(api_keys=[NEW_KEY])  # the account's key was revoked and replaced
    failed = await _run(hass, engine)
    assert failed.types[-2:] == ["error", "run-end"], failed.types
    assert "stt-end" not in failed.types
    assert failed.data("error")["code"] == "stt-stream-failed"

    if engine.name == "qwen_asr":
        flows = wait_for(
            lambda: [
                f
                for f in flows_in_progress(hass, DOMAIN)
                if f["context"].get("source") == "reauth"
                and f["context"].get("entry_id") == engine.entry.entry_id
            ],
            what="a reauth flow for the entry",
        )
        done = hass.rest().flow_step(flows[0]["flow_id"], {"api_key": NEW_KEY})
        assert (done["type"], done["reason"]) == ("abort", "reauth_successful")
        assert abort_text("config", "reauth_successful")
        # The flow ends before the reload it schedules (and its setup check with the new key):
        # the user's next command comes once the entity is back.
        wait_until_loaded(hass, engine.entry)
    else:
        live_emulator.restart(api_keys=[API_KEY])  # the Pi's key is fixed on the Pi instead

    again = await _run(hass, engine)
    assert again.transcript == COMMAND


async def test_dropped_service_errors_then_next_run_works(
    hass: HassProcess, engine: Engine, live_emulator: EmulatorProcess
) -> None:
    engine.set_mode(SERVICE_ENDPOINTING)
    live_emulator.stop()
    failed = await _run(hass, engine)
    assert failed.types[-2:] == ["error", "run-end"], failed.types
    live_emulator.start()
    assert (await _run(hass, engine)).transcript == COMMAND

    if engine.server is not None:  # the Wyoming server itself goes away and comes back
        engine.server.stop()
        failed = await _run(hass, engine)
        assert failed.types[-2:] == ["error", "run-end"], failed.types
        engine.server.start()
        assert (await _run(hass, engine)).transcript == COMMAND
