"""Parse the addresses the server and the mic service listen on (tcp, unix, stdio).

It imports nothing of the project, so that ``health``, the mic service and the command
line can read an address without loading the speech-to-text stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Hold one parsed listen URI."""

    scheme: str  # tcp, unix, stdio
    host: str = ""
    port: int = 0
    path: str = ""


def parse_uri(uri: str) -> ListenAddress:
    """Parse ``uri``; raise ValueError with a one-line explanation for one the server cannot use."""
    parts = urlparse(uri)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"Invalid port in {uri!r}") from None
        if not parts.hostname or port is None:
            raise ValueError(f"A tcp:// URI needs a host and a port: {uri!r}")
        return ListenAddress("tcp", host=parts.hostname, port=port)
    if parts.scheme == "unix":
        path = parts.path or parts.netloc
        if not path:
            raise ValueError(f"A unix:// URI needs a socket path: {uri!r}")
        return ListenAddress("unix", path=path)
    if parts.scheme == "stdio":
        return ListenAddress("stdio")
    raise ValueError(f"URI must start with tcp://, unix:// or stdio://: {uri!r}")
