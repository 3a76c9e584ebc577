"""Home Assistant test setup: the integration, a config entry pointing at the emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from websockets.asyncio.server import ServerConnection, serve

# Imported before phcc's `hass` fixture puts its own `custom_components` package first on
# the path; otherwise the integration is "not found".
import custom_components.qwen_asr  # noqa: F401
from custom_components.qwen_asr.const import (
    CONF_ENDPOINT,
    CONF_MODEL,
    CONF_REGION,
    DEFAULT_OPTIONS,
    DOMAIN,
    REGION_CUSTOM,
    SUBENTRY_STT,
)
from custom_components.qwen_asr.realtime import RedactingLogger

TEST_KEY = "test-key"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components."""


@pytest.fixture(autouse=True)
def allow_loopback_server(socket_enabled: None) -> None:
    """phcc blocks socket creation; the emulator needs a listening loopback socket.

    Connections stay restricted to 127.0.0.1 by phcc's allow-hosts guard.
    """


@pytest.fixture
def entry_data(emulator: Any) -> dict[str, Any]:
    """Entry data for the emulator as a custom endpoint."""
    return {
        CONF_API_KEY: TEST_KEY,
        CONF_REGION: REGION_CUSTOM,
        CONF_ENDPOINT: emulator.url,
        CONF_MODEL: "qwen3-asr-flash-realtime",
    }


@pytest.fixture
def config_entry(hass: HomeAssistant, entry_data: dict[str, Any]) -> MockConfigEntry:
    """A config entry (not set up) for the emulator, with one speech-to-text subentry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Qwen ASR (Custom)",
        data=entry_data,
        subentries_data=[stt_subentry_data("Qwen ASR (Custom)")],
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def setup_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The config entry, set up (with HA's core integration, which holds exposure settings)."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry


def stt_subentry_data(title: str, **settings: Any) -> Any:
    """What a speech-to-text subentry is made of: default settings with ``settings``."""
    return {
        "data": {**DEFAULT_OPTIONS, **settings},
        "subentry_type": SUBENTRY_STT,
        "title": title,
        "unique_id": None,
    }


def first_stt(entry: MockConfigEntry) -> ConfigSubentry:
    """The entry's first speech-to-text subentry (the one its setup made)."""
    return next(sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_STT)


def device_of(hass: HomeAssistant, entry: MockConfigEntry, identifier: str) -> Any:
    """The entry's device with this identifier of the integration, on every HA version."""
    from homeassistant.helpers import device_registry as dr  # noqa: PLC0415

    devices = dr.async_get(hass)
    if hasattr(devices, "async_get_device_by_identifier"):  # newer HA deprecates the other
        return devices.async_get_device_by_identifier((DOMAIN, identifier), entry.entry_id)
    return devices.async_get_device(identifiers={(DOMAIN, identifier)})


def device_subentries(device: Any) -> dict[str, set[str | None]]:
    """Which entry and subentries a device belongs to, on every HA version.

    Newer HA gives a device one entry and subentry (``config_subentry_id``) and deprecates
    ``config_entries_subentries``; HA 2025.4 has only the latter.
    """
    if hasattr(device, "config_subentry_id"):
        return {device.config_entry_id: {device.config_subentry_id}}
    subentries: dict[str, set[str | None]] = device.config_entries_subentries
    return subentries


def stt_diagnostics(diagnostics: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """A config entry's diagnostics of one speech-to-text subentry (default: the first)."""
    item: dict[str, Any] = diagnostics["speech_to_text"][index]
    return item


@pytest.fixture
def set_options(hass: HomeAssistant) -> Callable[..., None]:
    """Change the settings of the entry's first speech-to-text (read at each recognition)."""

    def _set(entry: MockConfigEntry, **changes: Any) -> None:
        subentry = first_stt(entry)
        hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, **changes}
        )

    return _set


def stt_entity_id(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str = "") -> str:
    """The entity id of a speech-to-text subentry's entity (default: the first)."""
    from homeassistant.helpers import entity_registry as er  # noqa: PLC0415

    subentry_id = subentry_id or first_stt(entry).subentry_id
    entity_id = er.async_get(hass).async_get_entity_id("stt", DOMAIN, subentry_id)
    assert entity_id is not None
    return entity_id


async def chunks(pcm: bytes, size: int = 2048, *, then_wait: bool = False) -> AsyncIterator[bytes]:
    """Yield audio the way a pipeline does; ``then_wait`` keeps the stream open forever."""
    import asyncio  # noqa: PLC0415

    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]
        await asyncio.sleep(0)
    if then_wait:
        await asyncio.Event().wait()


def pcm_metadata(language: str, sample_rate: int = 16000) -> Any:
    """What an Assist pipeline declares for its audio: 16-bit mono PCM in a WAV stream."""
    from homeassistant.components import stt  # noqa: PLC0415

    return stt.SpeechMetadata(
        language=language,
        format=stt.AudioFormats.WAV,
        codec=stt.AudioCodecs.PCM,
        bit_rate=stt.AudioBitRates.BITRATE_16,
        sample_rate=stt.AudioSampleRates(sample_rate),
        channel=stt.AudioChannels.CHANNEL_MONO,
    )


@pytest.fixture
def recognize(hass: HomeAssistant, setup_entry: MockConfigEntry) -> Callable[..., Any]:
    """``await recognize(pcm, language=..., sample_rate=...)`` -> SpeechResult."""
    from homeassistant.components import stt  # noqa: PLC0415

    async def _run(
        audio: bytes | AsyncIterator[bytes], *, language: str = "en-US", sample_rate: int = 16000
    ) -> stt.SpeechResult:
        entity = stt.async_get_speech_to_text_entity(hass, stt_entity_id(hass, setup_entry))
        assert entity is not None
        metadata = pcm_metadata(language, sample_rate)
        assert entity.check_metadata(metadata)
        stream = chunks(audio) if isinstance(audio, bytes) else audio
        return await entity.internal_async_process_audio_stream(metadata, stream)

    return _run


async def until(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    """Wait until ``predicate()`` is true (the emulator records some things asynchronously)."""
    import asyncio  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def not_qwen_url() -> AsyncIterator[str]:
    """A WebSocket server that answers every message with text that is not JSON."""

    async def handler(connection: ServerConnection) -> None:
        async for _message in connection:
            await connection.send("hello, I am not Qwen")

    logger = RedactingLogger(logging.getLogger("not_qwen"))  # masks the Authorization header
    async with serve(handler, "127.0.0.1", 0, logger=logger) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/api-ws/v1/realtime"
