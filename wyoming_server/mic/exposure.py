"""Who can listen: the mic service has no authentication, so its address decides."""

from __future__ import annotations

import ipaddress

from ..addresses import ListenAddress

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_private_address(address: ListenAddress) -> bool:
    """Tell whether only this machine can connect: a unix socket or a loopback host."""
    if address.scheme != "tcp":
        return True  # unix sockets are reached through the file system only
    host = address.host.strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def exposure_warning(uri: str, address: ListenAddress) -> str | None:
    """Return the one warning for a microphone served beyond this machine, else None."""
    if is_private_address(address):
        return None
    return (
        f"The microphone is served on {uri}: anyone who can reach that address can listen "
        "to the room (the Wyoming mic service has no authentication). For a satellite on "
        f"this machine use tcp://127.0.0.1:{address.port}"
    )
