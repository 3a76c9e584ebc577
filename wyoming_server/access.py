"""Who may connect: ``--allow-clients`` for the STT service and the mic service.

The Wyoming protocol has no authentication, so the client's address is the only thing a
server can check: the source address its socket sees. The default admits the addresses a
household uses (loopback, the private and link-local ranges, IPv6 unique-local), so Home
Assistant on the LAN, Docker bridges and the add-on network work. A NAT that masquerades or a
userland proxy (docker-proxy) in front of the server makes internet clients look local.
unix:// and stdio:// connections have no address: they are always allowed (the socket's
file permissions, or the parent process, decide who gets there).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from wyoming.event import Event, async_write_event

from .wire import discard_input

_LOGGER = logging.getLogger(__name__)

ANY = "any"
DEFAULT_NETWORKS = (
    "127.0.0.0/8",  # loopback
    "::1/128",
    "10.0.0.0/8",  # RFC 1918 private
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",  # link-local
    "fe80::/10",
    "fc00::/7",  # unique-local
)
DEFAULT_SPEC = "private"  # the name --help shows for DEFAULT_NETWORKS
REFUSAL_LOG_SECONDS = 60.0  # one log line per refused address and minute
_REFUSAL_LOG_MAX = 1024  # addresses remembered for rate limiting (a scan must not grow it)
_WRITE_TIMEOUT_SECONDS = 5.0
_LINGER_SECONDS = 2.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(specs: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(spec) for spec in specs]


def _strict_network(item: str) -> Network:
    """Parse ``item`` as a network; refuse one with host bits set (``127.0.0.1/0``).

    The error names the network it would silently have become: it may admit far more than
    was meant.
    """
    try:
        return ipaddress.ip_network(item)
    except ValueError:
        pass
    try:
        widened = ipaddress.ip_network(item, strict=False)
    except ValueError:
        raise ValueError(f"--allow-clients: {item!r} is not an address or CIDR") from None
    raise ValueError(
        f"--allow-clients: {item!r} has host bits set; it means the network {widened}: "
        f"write {str(widened)!r} if that is what you want"
    )


@dataclass(frozen=True, slots=True)
class ClientFilter:
    """The networks clients may connect from; ``None``: every address."""

    networks: tuple[Network, ...] | None

    @classmethod
    def parse(cls, spec: str) -> ClientFilter:
        """Parse ``--allow-clients``: ``any``, ``private`` or CIDRs/addresses separated by commas.

        ``private`` stands for the default list of networks; a bad item raises ValueError naming it.
        """
        items = [item.strip() for item in spec.split(",") if item.strip()]
        if not items:
            raise ValueError("--allow-clients needs 'any', 'private' or CIDR[,CIDR...]")
        if any(item.lower() == ANY for item in items):
            if len(items) > 1:
                raise ValueError("--allow-clients 'any' cannot be combined with networks")
            return cls(None)
        networks: list[Network] = []
        for item in items:
            if item.lower() == DEFAULT_SPEC:
                networks.extend(_networks(DEFAULT_NETWORKS))
                continue
            networks.append(_strict_network(item))
        return cls(tuple(networks))

    def allows(self, address: str | None) -> bool:
        """Tell whether a client at ``address`` may connect; None (unix socket, stdio): yes."""
        if self.networks is None or address is None:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False  # not an IP address: nothing to match
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
        return any(ip in network for network in self.networks)

    def describe(self) -> str:
        """Return the allowed networks as text for log messages ("any address" when unfiltered)."""
        if self.networks is None:
            return "any address"
        return ", ".join(str(network) for network in self.networks)


DEFAULT_FILTER = ClientFilter(tuple(_networks(DEFAULT_NETWORKS)))


def peer_address(writer: asyncio.StreamWriter) -> str | None:
    """Return the client's IP address; None for connections without one (unix socket, pipes)."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and peer and isinstance(peer[0], str):
        return peer[0]
    return None


class ThrottledLog:
    """Rate-limits warnings about clients: at most one per ``key`` and ``interval``.

    The key names a client's address (and what it did), so that a scanner or a misbehaving
    client cannot flood the log. The one rate limit for warnings about clients (refusals,
    bad events, limits).
    """

    def __init__(
        self, interval: float = REFUSAL_LOG_SECONDS, logger: logging.Logger | None = None
    ) -> None:
        """Allow one warning per key and ``interval`` seconds, to ``logger`` (default: ours)."""
        self._interval = interval
        self._logger = logger or _LOGGER
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        """Tell whether a warning about ``key`` may be logged now; if so, count it."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) >= _REFUSAL_LOG_MAX:
            self._last = {a: t for a, t in self._last.items() if now - t < self._interval}
            if len(self._last) >= _REFUSAL_LOG_MAX:
                return False  # still full: this minute's other addresses stay unlogged
        self._last[key] = now
        return True

    def warning(self, key: str, message: str, *args: object) -> None:
        """Log ``message`` at WARNING unless one about ``key`` was logged this interval."""
        if self.allow(key):
            self._logger.warning("%s (logged at most once a minute)", message % args)


class RefusalLog:
    """Logs a refused address at most once per ``interval``: a scanner must not flood the log."""

    def __init__(self, service: str, interval: float = REFUSAL_LOG_SECONDS) -> None:
        """Name ``service`` in warnings; log each address at most once per ``interval`` seconds."""
        self._service = service
        self._throttle = ThrottledLog(interval)

    def refused(self, address: str, allowed: ClientFilter) -> None:
        """Log that ``address`` was refused by ``allowed``, unless it was logged this interval."""
        if not self._throttle.allow(address):
            return
        _LOGGER.warning(
            "Refused a %s client from %s: not in --allow-clients (%s); "
            "further refusals of this address are logged at most once a minute",
            self._service,
            address,
            allowed.describe(),
        )


class ClientGate:
    """Checks each new connection of one service against the filter."""

    def __init__(self, allowed: ClientFilter, service: str) -> None:
        """Admit clients of ``service`` (the name in refusal warnings) that ``allowed`` lets in."""
        self.allowed = allowed
        self._log = RefusalLog(service)

    def admits(self, writer: asyncio.StreamWriter) -> bool:
        """Tell whether the client on ``writer`` may stay; log a refusal (throttled) if not."""
        address = peer_address(writer)
        if self.allowed.allows(address):
            return True
        assert address is not None
        self._log.refused(address, self.allowed)
        return False


async def refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, event: Event | None = None
) -> None:
    """Send ``event`` (if any), then close the connection.

    Input is read and discarded briefly first: closing with unread data sends a TCP reset, which
    can destroy the event before the client reads it.
    """
    with contextlib.suppress(OSError, RuntimeError, TimeoutError):
        if event is not None:
            async with asyncio.timeout(_WRITE_TIMEOUT_SECONDS):
                await async_write_event(event, writer)
        if writer.can_write_eof():
            writer.write_eof()
        await discard_input(reader, _LINGER_SECONDS)
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), _WRITE_TIMEOUT_SECONDS)
