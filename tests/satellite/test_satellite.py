"""wyoming-satellite 1.0.0 reads the mic service; the test is Home Assistant."""

from __future__ import annotations

from collections.abc import Callable

from wyoming.pipeline import PipelineStage

from tests.support.satellite.home_assistant import SatelliteConnection, speech_to_text
from tests.support.satellite.live_mic import LiveMicrophone

from .conftest import Pi

COMMAND = "turn on the kitchen lights"


def normalized(text: str) -> str:
    return text.strip().lower().rstrip(".")


async def start_streaming(pi: Pi) -> SatelliteConnection:
    satellite = SatelliteConnection(pi.satellite_port)
    info = await satellite.connect()
    assert info.satellite is not None and info.satellite.name == "Kitchen satellite"
    pipeline = await satellite.run_satellite()
    # Always streaming, no local wake word, no speaker: HA runs wake word to intent.
    assert (pipeline.start_stage, pipeline.end_stage) == (PipelineStage.WAKE, PipelineStage.HANDLE)
    await satellite.next_chunk()  # the microphone's audio is flowing through the satellite
    await pi.mic.wait_for_log("Mic client connected")
    return satellite


async def test_a_spoken_command_through_the_satellite(
    pi: Pi, microphone: LiveMicrophone, speech_pcm: Callable[..., bytes]
) -> None:
    satellite = await start_streaming(pi)
    try:
        microphone.say(speech_pcm("turn_on_kitchen_lights"))
        assert normalized(await speech_to_text(satellite, pi.stt_port)) == COMMAND
        # The satellite goes on streaming for the next command (HA starts a new pipeline).
        microphone.say(speech_pcm("turn_on_kitchen_lights"))
        assert normalized(await speech_to_text(satellite, pi.stt_port)) == COMMAND
    finally:
        await satellite.close()
    assert "Traceback" not in pi.satellite.log()


async def test_restarting_the_mic_service_mid_way(
    pi: Pi, microphone: LiveMicrophone, speech_pcm: Callable[..., bytes]
) -> None:
    satellite = await start_streaming(pi)
    try:
        assert await pi.mic.terminate() == 0  # systemctl restart: SIGTERM, then a new process
        await pi.satellite.wait_for_log("Mic service disconnected")
        new_mic = pi.restart_mic(microphone.device)
        # wyoming-satellite reconnects on its own (every 3 s); the HA connection stays.
        await new_mic.wait_for_log("Mic client connected", timeout=40)
        microphone.say(speech_pcm("turn_on_kitchen_lights"))
        assert normalized(await speech_to_text(satellite, pi.stt_port)) == COMMAND
    finally:
        await satellite.close()
    assert pi.satellite.proc.poll() is None  # the satellite itself never restarted
