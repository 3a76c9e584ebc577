"""The ``transcribe`` command's pacing: a file is streamed like a microphone would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.server_helpers import settings_for
from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer
from wyoming_server.transcribe import transcribe_file
from wyoming_server.wav import read_wav


async def test_transcribe_streams_the_file_in_real_time(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    path = fixture_path("what_time_is_it.wav")
    text = await transcribe_file(settings_for(emulator), path)
    assert text == "what time is it"
    appends = [t for t, kind in emulator.sessions[-1].client_events if kind.endswith(".append")]
    # Paced: the appends spread over (almost) the recording's length, not sent in one burst.
    assert appends[-1] - appends[0] >= 0.8 * read_wav(path).seconds - 0.1


async def test_transcribe_fast_sends_the_file_at_once(
    emulator: QwenEmulator, fixture_path: Callable[[str], Path]
) -> None:
    emulator.recognizer_factory = ScriptedRecognizer(["what time is it"])
    path = fixture_path("what_time_is_it.wav")
    assert await transcribe_file(settings_for(emulator), path, realtime=False) == "what time is it"
    appends = [t for t, kind in emulator.sessions[-1].client_events if kind.endswith(".append")]
    assert appends[-1] - appends[0] < 0.5 * read_wav(path).seconds
