"""Advertising the server over mDNS as ``_wyoming._tcp`` so Home Assistant discovers it."""

from __future__ import annotations

import contextlib
import logging
import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOGGER = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
_MDNS_GROUP = "224.0.0.251"


def default_service_name() -> str:
    """Return the default service name: ``qwen-asr-`` and this host's short name."""
    return f"qwen-asr-{socket.gethostname().split('.')[0]}"


def local_ip() -> str:
    """Return the address other hosts reach us at: the one used to route to the mDNS group."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((_MDNS_GROUP, 1))  # UDP connect sends nothing
        return str(probe.getsockname()[0])


class ZeroconfAdvertiser:
    """Registers one ``_wyoming._tcp`` service while the server runs."""

    def __init__(
        self,
        name: str,
        port: int,
        listen_host: str = "",
        *,
        interfaces: list[str] | None = None,
    ) -> None:
        """Describe service ``name`` (empty: the default) on ``port``; ``start`` registers it.

        ``listen_host`` is the advertised address unless it is a wildcard, then this host's routed
        address is; ``interfaces`` limits the multicast interfaces (None: all).
        """
        address = local_ip() if listen_host in ("", "0.0.0.0", "::") else listen_host
        self.name = name or default_service_name()
        self.info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self.name}.{SERVICE_TYPE}",
            addresses=[socket.inet_aton(address)],
            port=port,
            properties={"program": "wyoming-qwen-asr"},
        )
        self._interfaces = interfaces
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        """Register the service on the network (IPv4 multicast)."""
        if self._interfaces is None:
            self._zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
        else:
            self._zeroconf = AsyncZeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        await self._zeroconf.async_register_service(self.info)
        _LOGGER.info("Advertising %s over zeroconf", self.info.name)

    async def stop(self) -> None:
        """Unregister the service and close zeroconf; nothing if it was not started."""
        if self._zeroconf is None:
            return
        zeroconf, self._zeroconf = self._zeroconf, None
        try:
            await zeroconf.async_unregister_service(self.info)
        finally:
            await zeroconf.async_close()


async def start_advertising(name: str, port: int, listen_host: str) -> ZeroconfAdvertiser | None:
    """Advertise, or log why not and return None.

    The server is already listening and works without discovery (Home Assistant can add it
    by host and port), so a failed advertisement is a warning, not a reason to exit: under
    systemd an exit would restart-loop a working server over a missing multicast route.
    """
    advertiser: ZeroconfAdvertiser | None = None
    try:
        advertiser = ZeroconfAdvertiser(name, port, listen_host)
        await advertiser.start()
    except Exception as err:  # zeroconf raises OSError and its own errors; all mean the same
        if advertiser is not None:
            with contextlib.suppress(Exception):
                await advertiser.stop()
        _LOGGER.warning(
            "Cannot advertise the server over mDNS (zeroconf): %s; serving without "
            "discovery: add the Wyoming Protocol integration in Home Assistant with this "
            "host and port %d",
            str(err) or type(err).__name__,
            port,
        )
        return None
    return advertiser
