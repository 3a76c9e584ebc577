"""The one place that imports pyalsaaudio: opening a capture PCM and listing devices."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

_LOGGER = logging.getLogger(__name__)

# pip builds pyalsaaudio from source, against ALSA's and Python's headers.
INSTALL_HINT = (
    "the microphone needs pyalsaaudio, which pip compiles: "
    "sudo apt install libasound2-dev gcc python3-dev, then pip install pyalsaaudio"
)


class MicDeviceError(Exception):
    """The microphone cannot be opened or read (one line, fit for the user)."""


class PcmSource(Protocol):
    """An open capture device delivering interleaved S16_LE frames."""

    rate: int
    channels: int

    def read(self) -> bytes:
        """Read one period (may be shorter, or empty after an overrun); raise MicDeviceError."""

    def close(self) -> None:
        """Close the device; no read follows."""


def load_alsaaudio() -> ModuleType:
    """Import pyalsaaudio; MicDeviceError with the install hint if it is missing."""
    try:
        import alsaaudio  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise MicDeviceError(INSTALL_HINT) from None
    module: ModuleType = alsaaudio
    return module


@contextlib.contextmanager
def quiet_alsa_lib() -> Iterator[None]:
    """Hide alsa-lib's own stderr lines ("ALSA lib pcm.c:...: Unknown PCM") for one call.

    Used only for the first open, where our one-line error says it better. alsa-lib offers
    snd_lib_error_set_handler, but a Python callback for its variadic signature crashed here.
    """
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def describe_error(err: BaseException) -> str:
    """Return pyalsaaudio's message without its trailing " [device]" (we name the device)."""
    return re.sub(r"\s*\[[^\]]*\]$", "", str(err)) or type(err).__name__


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """The capture device's name and what to ask it for: rate, channels, frames per read."""

    device: str = "default"
    rate: int = 16_000
    channels: int = 1
    samples_per_chunk: int = 1024

    @property
    def period_bytes(self) -> int:
        """Bytes of one period: ``samples_per_chunk`` frames of 16-bit samples."""
        return self.samples_per_chunk * self.channels * 2


class AlsaSource:
    """A pyalsaaudio capture PCM, blocking reads of one period."""

    def __init__(self, config: CaptureConfig) -> None:
        """Open ``config.device`` for capture; ``rate`` and ``channels`` are what it granted."""
        alsaaudio = load_alsaaudio()
        self._error: type[Exception] = alsaaudio.ALSAAudioError
        try:
            self._pcm = alsaaudio.PCM(
                alsaaudio.PCM_CAPTURE,
                alsaaudio.PCM_NORMAL,
                device=config.device,
                rate=config.rate,
                channels=config.channels,
                format=alsaaudio.PCM_FORMAT_S16_LE,
                periodsize=config.samples_per_chunk,
            )
        except self._error as err:
            raise MicDeviceError(
                f"cannot open microphone {config.device!r}: {describe_error(err)} "
                "(list devices with --mic-list)"
            ) from None
        # The hardware may grant a different rate or channel count than asked.
        info: dict[str, Any] = self._pcm.info() if hasattr(self._pcm, "info") else {}
        self.rate = int(info.get("rate", config.rate))
        self.channels = int(info.get("channels", config.channels))
        self._device = config.device

    def read(self) -> bytes:
        """Read one period; empty after an overrun, MicDeviceError if the device fails."""
        try:
            length, data = self._pcm.read()
        except self._error as err:
            raise MicDeviceError(
                f"microphone {self._device!r} failed: {describe_error(err)}"
            ) from None
        if length < 0:  # -EPIPE: an overrun; pyalsaaudio has already re-prepared the PCM
            _LOGGER.debug("Microphone overrun (%d)", length)
            return b""
        return bytes(data)

    def close(self) -> None:
        """Close the PCM."""
        self._pcm.close()


def capture_devices() -> list[str]:
    """Return the names of ALSA's capture devices (for ``--mic-list``)."""
    alsaaudio = load_alsaaudio()
    names: list[str] = alsaaudio.pcms(alsaaudio.PCM_CAPTURE)
    return names
