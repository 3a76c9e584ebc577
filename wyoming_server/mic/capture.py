"""The capture thread: blocking ALSA reads, converted to 16 kHz/16-bit/mono, handed to asyncio.

pyalsaaudio's ``read`` blocks for a period, so it runs in its own thread; each chunk is passed
to the event loop with ``call_soon_threadsafe`` and fanned out to every consumer there. A device
that fails while running (an unplugged USB microphone) is reopened with backoff; consumers
simply see a gap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..audio import TARGET_FORMAT, PcmConverter, PcmFormat
from .alsa import AlsaSource, CaptureConfig, MicDeviceError, PcmSource, quiet_alsa_lib
from .fanout import FanOut, Subscription

_LOGGER = logging.getLogger(__name__)

Opener = Callable[[CaptureConfig], PcmSource]

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0

OUTPUT_FORMAT = TARGET_FORMAT  # what every consumer receives: 16 kHz, 16-bit, mono
_BYTES_PER_MS = OUTPUT_FORMAT.rate * OUTPUT_FORMAT.frame_bytes // 1000


@dataclass(frozen=True, slots=True)
class MicChunk:
    """One chunk of captured audio in OUTPUT_FORMAT and when its first sample was heard."""

    audio: bytes  # PCM in OUTPUT_FORMAT
    timestamp_ms: int  # of the chunk's first sample, since the capture started


class MicCapture:
    """Owns the device and the reader thread; ``subscribe()`` to receive chunks."""

    def __init__(
        self,
        config: CaptureConfig,
        *,
        opener: Opener = AlsaSource,
        max_periods: int | None = None,
        backoff: tuple[float, float] = (BACKOFF_FIRST_SECONDS, BACKOFF_MAX_SECONDS),
    ) -> None:
        """Capture from ``config`` with ``opener`` (tests pass a fake device).

        ``max_periods`` stops after that many reads (tests: the ALSA file plugin never ends);
        ``backoff`` is the first and the longest delay before reopening a failed device.
        """
        self.config = config
        self.fanout: FanOut[MicChunk] = FanOut()
        self._opener = opener
        # Test-only bounded mode: the ALSA file plugin never reports the end of its file.
        self._max_periods = max_periods
        self._backoff = backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._source: PcmSource | None = None
        self._converter: PcmConverter | None = None
        self._started_at = 0.0
        self._bytes_out = 0
        self.failures = 0
        self.recoveries = 0

    def subscribe(self, backlog: int = 64, name: str = "consumer") -> Subscription[MicChunk]:
        """Return a new subscription to the chunks, holding up to ``backlog`` unread ones.

        ``name`` identifies the consumer in the warning when it falls behind.
        """
        return self.fanout.subscribe(backlog, name)

    @property
    def running(self) -> bool:
        """Whether the reader thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    async def start(self) -> None:
        """Open the device (MicDeviceError if it is missing) and start reading."""
        self._loop = asyncio.get_running_loop()
        async with asyncio.timeout(START_TIMEOUT_SECONDS):
            await asyncio.to_thread(self._open, quiet=True)
        assert self._source is not None
        _LOGGER.info(
            "Microphone %r open: %d Hz, %d channel(s), %d samples per chunk",
            self.config.device,
            self._source.rate,
            self._source.channels,
            self.config.samples_per_chunk,
        )
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="mic-capture", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Stop the reader thread (bounded wait), close the device and end every subscription."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, STOP_TIMEOUT_SECONDS)
            if thread.is_alive():  # a read stuck in the driver; the daemon thread dies with us
                _LOGGER.warning("The microphone thread did not stop in time")
                return
        self._close_source()  # the thread closes its own; this covers a thread never started
        self.fanout.end()

    # -- reader thread ----------------------------------------------------------------

    def _open(self, *, quiet: bool = False) -> None:
        with quiet_alsa_lib() if quiet else contextlib.nullcontext():
            source = self._opener(self.config)
        self._converter = PcmConverter(PcmFormat(source.rate, 2, source.channels))
        self._source = source

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            try:
                source.close()
            except Exception:  # a dead device may fail to close; nothing more to do
                _LOGGER.debug("Closing the microphone failed", exc_info=True)

    def _run(self) -> None:
        periods = 0
        try:
            while not self._stop.is_set():
                if self._max_periods is not None and periods >= self._max_periods:
                    break
                if self._source is None and not self._reopen():
                    break
                assert self._source is not None and self._converter is not None
                try:
                    data = self._source.read()
                except MicDeviceError as err:
                    self.failures += 1
                    _LOGGER.error("%s; retrying", err)
                    self._close_source()
                    continue
                if self._stop.is_set():  # stop() may have unblocked this read with junk
                    break
                periods += 1
                self._emit(self._converter.convert(data))
        except Exception:  # a bug here must not leave consumers waiting forever
            _LOGGER.exception("The microphone thread crashed")
        finally:
            self._close_source()
            self._call(self.fanout.end)

    def _reopen(self) -> bool:
        """Retry until the device opens again; False if asked to stop meanwhile."""
        delay, ceiling = self._backoff
        while not self._stop.wait(delay):
            try:
                self._open()
            except MicDeviceError as err:
                _LOGGER.debug("Microphone still unavailable: %s", err)
                delay = min(delay * 2, ceiling)
                continue
            self.recoveries += 1
            # Timestamps follow the clock across the gap, so consumers can see it.
            elapsed = int((time.monotonic() - self._started_at) * 1000) * _BYTES_PER_MS
            self._bytes_out = max(self._bytes_out, elapsed)
            _LOGGER.info("Microphone %r is back", self.config.device)
            return True
        return False

    def _emit(self, audio: bytes) -> None:
        if not audio:
            return
        chunk = MicChunk(audio, self._bytes_out // _BYTES_PER_MS)
        self._bytes_out += len(audio)
        self._call(self.fanout.publish, chunk)

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self._stop.set()


def capture_config(args: argparse.Namespace) -> CaptureConfig:
    """Return the capture the ``--mic-*`` options ask for."""
    return CaptureConfig(
        device=args.mic_device,
        rate=args.mic_rate,
        channels=args.mic_channels,
        samples_per_chunk=args.mic_samples_per_chunk,
    )
