"""Shared test setup: import paths, speech fixtures and a running Qwen emulator.

Loaded by both the server test venv and the Home Assistant test venv, so it only needs the
standard library at import time (the emulator, which needs ``websockets``, is imported lazily).
"""

from __future__ import annotations

import logging
import wave
from array import array
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.source_imports import expose_source_packages

FIXTURES = Path(__file__).resolve().parent / "fixtures"

expose_source_packages()

import pytest  # noqa: E402

if TYPE_CHECKING:
    from wyoming_server.emulator import QwenEmulator


def read_wav_pcm(path: Path, rate: int = 16000) -> bytes:
    """PCM16 mono bytes of a 16 kHz fixture; ``rate=8000`` decimates by averaging pairs."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        assert wav.getframerate() == 16000
        pcm = wav.readframes(wav.getnframes())
    if rate == 16000:
        return pcm
    assert rate == 8000
    samples = array("h", pcm)
    halved = array("h", ((samples[i] + samples[i + 1]) // 2 for i in range(0, len(samples) - 1, 2)))
    return halved.tobytes()


@pytest.fixture
def fixture_path() -> Callable[[str], Path]:
    """``fixture_path("what_time_is_it.wav")`` -> absolute path of a file in tests/fixtures."""

    def _path(name: str) -> Path:
        path = FIXTURES / name
        assert path.exists(), path
        return path

    return _path


@pytest.fixture
def speech_pcm() -> Callable[..., bytes]:
    """``speech_pcm("two_commands", rate=16000)`` -> PCM16 mono bytes of a fixture WAV."""

    def _load(name: str, rate: int = 16000) -> bytes:
        filename = name if name.endswith(".wav") else name + ".wav"
        return read_wav_pcm(FIXTURES / filename, rate)

    return _load


@pytest.fixture
async def emulator() -> AsyncIterator[QwenEmulator]:
    """A started emulator (scripted recognizer, API key "test-key") on a free loopback port.

    It plays the profile ``QWEN_EMULATOR_PROFILE`` names (observed when unset; CI runs some
    suites once more with ``documented``); a test of one profile's behaviour sets it.
    """
    from wyoming_server.emulator import QwenEmulator, ScriptedRecognizer  # noqa: PLC0415

    async with QwenEmulator(
        api_keys=frozenset({"test-key"}), recognizer_factory=ScriptedRecognizer()
    ) as server:
        yield server


# Keys the suites use; no log line may ever contain one of them.
TEST_API_KEYS = ("test-key", "demo-key", "sk-test-secret-key")


@pytest.fixture(autouse=True)
def _no_api_key_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test whose captured logs (debug level included) show an API key."""
    caplog.set_level(logging.DEBUG)
    yield
    # In teardown caplog.text is the teardown phase's; read the earlier phases explicitly.
    records = [record for when in ("setup", "call") for record in caplog.get_records(when)]
    leaked = {key for key in TEST_API_KEYS for r in records if key in r.getMessage()}
    # Where it leaked (logger, place, the line with the key masked), so it can be fixed.
    where = [
        f"{r.name} {r.pathname}:{r.lineno}: {_masked(r.getMessage())[:300]}"
        for r in records
        if any(key in r.getMessage() for key in TEST_API_KEYS)
    ]
    assert not leaked, f"API key {sorted(leaked)} appeared in the logs: {where[:5]}"


def _masked(text: str) -> str:
    for key in TEST_API_KEYS:
        text = text.replace(key, "<KEY>")
    return text
