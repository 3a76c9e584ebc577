"""The Wyoming ``mic`` service: every client gets ``AudioStart`` and then the live chunks.

This is what wyoming-satellite's ``--mic-uri`` connects to. ``Describe`` is answered at any
time with an ``Info`` holding a ``MicProgram``. Clients' events are read with the server's
bounded reader (wire.py): a header announcing a payload over its limit gets ``Error`` and
the connection is closed, nothing of it buffered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from wyoming.audio import AudioChunk, AudioFormat, AudioStart
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info, MicProgram

from .. import __version__
from ..access import DEFAULT_FILTER, ClientFilter, ClientGate, refuse
from ..addresses import ListenAddress, parse_uri
from ..wire import WireError, read_event
from .capture import OUTPUT_FORMAT, MicCapture, MicChunk, capture_config
from .exposure import exposure_warning
from .fanout import Subscription

_LOGGER = logging.getLogger(__name__)

WRITE_TIMEOUT_SECONDS = 10.0  # a client that cannot take audio for this long is dropped
CLOSE_TIMEOUT_SECONDS = 2.0
CLIENT_BACKLOG = 32  # chunks (about 2 s) a slow client may fall behind before losing audio


def build_mic_info(device: str) -> Info:
    """Return the Info that describes the microphone ``device`` to Wyoming clients."""
    return Info(
        mic=[
            MicProgram(
                name="qwen-asr-mic",
                attribution=Attribution(name="ALSA", url="https://www.alsa-project.org"),
                installed=True,
                description=f"ALSA microphone {device}",
                version=__version__,
                mic_format=AudioFormat(
                    rate=OUTPUT_FORMAT.rate,
                    width=OUTPUT_FORMAT.width,
                    channels=OUTPUT_FORMAT.channels,
                ),
            )
        ]
    )


class MicService:
    """Serves one capture to any number of Wyoming clients."""

    def __init__(self, capture: MicCapture, allowed: ClientFilter = DEFAULT_FILTER) -> None:
        """Serve ``capture`` to clients that ``allowed`` admits; ``start`` begins listening."""
        self.capture = capture
        self.clients = ClientGate(allowed, "mic")  # whoever connects hears the room
        self.info = build_mic_info(capture.config.device)
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], Subscription[MicChunk]] = {}

    async def start(self, address: ListenAddress) -> None:
        """Listen on ``address`` (tcp:// or unix://; ValueError otherwise)."""
        if address.scheme == "tcp":
            self._server = await asyncio.start_server(
                self._serve_client, host=address.host, port=address.port
            )
        elif address.scheme == "unix":
            self._server = await asyncio.start_unix_server(self._serve_client, path=address.path)
        else:
            raise ValueError("the mic service listens on tcp:// or unix://")

    @property
    def bound_port(self) -> int:
        """The TCP port the service listens on (the one the system chose for port 0)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening, disconnect every client, release the microphone."""
        if self._server is not None:
            self._server.close()
        # Ending a client's subscription ends its connection; cancelling the connection task
        # instead would make asyncio's stream callback log the cancellation as an error.
        for subscription in list(self._clients.values()):
            subscription.close()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=CLOSE_TIMEOUT_SECONDS * 2)
        await self.capture.stop()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT_SECONDS)

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if not self.clients.admits(writer):
            await refuse(reader, writer)  # closed without a word: no audio, no Info
            return
        task = asyncio.current_task()
        assert task is not None
        peer = writer.get_extra_info("peername") or "unix socket"
        subscription = self.capture.subscribe(CLIENT_BACKLOG, name=f"mic client {peer}")
        self._clients[task] = subscription
        lock = asyncio.Lock()  # Info replies and audio share the stream
        _LOGGER.info("Mic client connected: %s", peer)
        streaming = asyncio.create_task(self._stream(subscription, writer, lock))
        requests = asyncio.create_task(self._answer(reader, writer, lock))
        try:
            await asyncio.wait({streaming, requests}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            subscription.close()
            for part in (streaming, requests):
                part.cancel()
                with contextlib.suppress(BaseException):
                    await part
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT_SECONDS)
            self._clients.pop(task, None)
            _LOGGER.info("Mic client disconnected: %s", peer)

    async def _write(self, writer: asyncio.StreamWriter, lock: asyncio.Lock, event: Event) -> None:
        async with lock, asyncio.timeout(WRITE_TIMEOUT_SECONDS):
            await async_write_event(event, writer)

    async def _stream(
        self, subscription: Subscription[MicChunk], writer: asyncio.StreamWriter, lock: asyncio.Lock
    ) -> None:
        rate, width, channels = OUTPUT_FORMAT.rate, OUTPUT_FORMAT.width, OUTPUT_FORMAT.channels
        try:
            await self._write(writer, lock, AudioStart(rate, width, channels, timestamp=0).event())
            async for chunk in subscription:
                event = AudioChunk(rate, width, channels, chunk.audio, timestamp=chunk.timestamp_ms)
                await self._write(writer, lock, event.event())
        except (OSError, TimeoutError) as err:
            _LOGGER.info("Mic client dropped: %s", err.__class__.__name__)

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lock: asyncio.Lock
    ) -> None:
        """Answer Describe; return when the client hangs up or sends a bad event."""
        with contextlib.suppress(OSError, TimeoutError):
            try:
                while (event := await read_event(reader)) is not None:
                    if Describe.is_type(event.type):
                        await self._write(writer, lock, self.info.event())
            except WireError as err:
                _LOGGER.warning("Closing a mic client that sent a bad event: %s", err)
                await self._write(writer, lock, Error(text=str(err), code="bad-request").event())
                await _linger(reader, writer)


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read and discard for a moment before closing.

    Closing with unread data sends a TCP reset, which can destroy the Error before the
    client reads it.
    """
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()
    with contextlib.suppress(TimeoutError, OSError):
        async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
            while await reader.read(1 << 16):
                pass


async def start_mic_service(args: argparse.Namespace) -> MicService:
    """Open the microphone and serve it on ``args.mic_uri``.

    Raises MicDeviceError (one line) when the device cannot be opened, OSError when the
    address cannot be bound. Call ``await service.stop()`` at shutdown.
    """
    address = parse_uri(args.mic_uri)
    capture = MicCapture(capture_config(args))
    await capture.start()
    service = MicService(capture, getattr(args, "allow_clients", DEFAULT_FILTER))
    try:
        await service.start(address)
    except BaseException:
        await capture.stop()
        raise
    _LOGGER.info("Mic service ready on %s", args.mic_uri)
    if (warning := exposure_warning(args.mic_uri, address)) is not None:
        _LOGGER.warning("%s", warning)
    return service
