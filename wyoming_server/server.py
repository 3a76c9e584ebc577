"""Running the Wyoming server: tcp, unix or stdio, with a graceful shutdown.

The wyoming library's servers stop every connection at once on SIGTERM; this one stops
accepting, lets requests in progress finish (bounded), then exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from wyoming.error import Error
from wyoming.event import async_get_stdin

from .access import ClientGate, ThrottledLog, peer_address, refuse
from .addresses import ListenAddress, parse_uri
from .audio_budget import AudioBudget, default_state_file
from .connections import ConnectionCap, close_at_once
from .handler import QwenAsrEventHandler
from .info import build_info, info_with_engine
from .limits import OpeningRate, RequestGate
from .settings import ServerSettings

_LOGGER = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0


class QwenAsrServer:
    """Accept Wyoming connections and run one handler per connection."""

    def __init__(self, settings: ServerSettings) -> None:
        """Prepare the server's shared limits; ``start`` or ``serve_stdio`` accepts clients."""
        self.settings = settings
        self.info = build_info(settings)
        self._handlers: dict[asyncio.Task[None], QwenAsrEventHandler] = {}
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self.clients = ClientGate(settings.allow_clients, "speech-to-text")
        budget = None
        if settings.daily_audio_seconds is not None:
            path = settings.state_file or default_state_file()
            budget = AudioBudget(path, settings.daily_audio_seconds)
        per_minute = settings.max_sessions_per_minute
        self.gate = RequestGate(
            settings.max_sessions,
            budget,
            per_client=settings.sessions_per_client,
            openings=None if per_minute is None else OpeningRate(per_minute),
        )
        self.connections = ConnectionCap(
            settings.max_connections, settings.max_connections_per_client
        )
        # Warnings about clients (too many connections, bad events, slow audio): rate-limited.
        self.client_log = ThrottledLog()

    def handler_factory(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> QwenAsrEventHandler:
        """Return the handler of one connection."""
        # With a fallback, Info tells which engine is in use now (read by ``health``).
        info = info_with_engine(
            self.info, self.settings.fallback, budget_used_up=self.gate.budget_used_up
        )
        return QwenAsrEventHandler(
            reader,
            writer,
            settings=self.settings,
            info=info,
            gate=self.gate,
            client_log=self.client_log,
        )

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if not self.clients.admits(writer):
            text = "This server does not accept clients from this address (--allow-clients)"
            await refuse(reader, writer, Error(text=text, code="client-not-allowed").event())
            return
        client = peer_address(writer)
        refusal = self.connections.enter(client)
        if refusal is not None:
            self.client_log.warning(
                f"{client} connections", "Refused a connection from %s: %s", client, refusal
            )
            close_at_once(writer)
            return
        try:
            handler = self.handler_factory(reader, writer)
            task = asyncio.current_task()
            assert task is not None
            self._handlers[task] = handler
            try:
                await handler.run()
            finally:
                self._handlers.pop(task, None)
        finally:
            self.connections.leave(client)

    async def start(self, address: ListenAddress) -> None:
        """Start listening (tcp/unix). ``bound_port`` tells the port when 0 was asked."""
        if address.scheme == "tcp":
            self._server = await asyncio.start_server(
                self._serve_connection, host=address.host, port=address.port
            )
        elif address.scheme == "unix":
            self._server = await asyncio.start_unix_server(
                self._serve_connection, path=address.path
            )
        else:
            raise ValueError("start() listens on tcp or unix; use serve_stdio() for stdio")

    @property
    def bound_port(self) -> int:
        """Return the port listened on (the one chosen when 0 was asked)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_stdio(self) -> None:
        """One connection over stdin/stdout; returns when stdin ends."""
        reader = await async_get_stdin()
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, sys.stdout
        )
        writer = asyncio.StreamWriter(transport, protocol, None, loop)
        await self._serve_connection(reader, writer)

    def request_stop(self) -> None:
        """Ask ``serve`` to shut down gracefully (SIGTERM)."""
        self._stopping.set()

    async def wait_stopping(self) -> None:
        """Wait until a shutdown is requested."""
        await self._stopping.wait()

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop accepting, let requests in progress finish within ``grace``, close the rest."""
        if self._server is not None:
            self._server.close()
        for handler in list(self._handlers.values()):
            handler.begin_shutdown()
        tasks = list(self._handlers)
        if tasks:
            _LOGGER.info("Finishing %d connection(s) before exiting", len(tasks))
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)


async def serve(
    settings: ServerSettings,
    uri: str,
    *,
    zeroconf_name: str | None = None,
    on_ready: Callable[[QwenAsrServer], Awaitable[None] | None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or stdin's end for stdio), then shut down gracefully."""
    address = parse_uri(uri)
    server = QwenAsrServer(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, server.request_stop)
    # kill -USR1 <pid> logs resource usage (the soak test reads it to spot leaks).
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, lambda: _LOGGER.info("%s", resource_stats(server)))
    advertiser = None
    try:
        if address.scheme == "stdio":
            stdio = asyncio.create_task(server.serve_stdio())
            stopping = asyncio.create_task(server.wait_stopping())
            await asyncio.wait({stdio, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            await server.stop()
            stdio.cancel()
            with contextlib.suppress(BaseException):
                await stdio
            return
        await server.start(address)
        _LOGGER.info("Ready: listening on %s", _describe(address, server))
        if zeroconf_name is not None and address.scheme == "tcp":
            from .zeroconf import start_advertising  # noqa: PLC0415 - optional dependency

            advertiser = await start_advertising(zeroconf_name, server.bound_port, address.host)
        if on_ready is not None:
            result = on_ready(server)
            if result is not None:
                await result
        await server.wait_stopping()
        _LOGGER.info("Shutting down")
        await server.stop()
    finally:
        if advertiser is not None:
            await advertiser.stop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


def resource_stats(server: QwenAsrServer) -> str:
    """One line for operators and the soak test: connections, asyncio tasks, fds, RSS."""
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = -1
    rss_kb = -1
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
                break
    return (
        f"stats: connections={len(server._handlers)} tasks={len(asyncio.all_tasks())} "
        f"fds={fds} rss_kb={rss_kb}"
    )


def _describe(address: ListenAddress, server: QwenAsrServer) -> str:
    if address.scheme == "tcp":
        return f"tcp://{address.host}:{server.bound_port}"
    return f"unix://{address.path}"
