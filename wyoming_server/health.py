"""``health``: ask the Wyoming server on a URI for its ``Info`` (``Describe``), in time.

Exit status 0 (healthy) or 1 (anything else), as container health checks expect. By default
it checks the URI the server itself listens on (``QWEN_ASR_URI``), so a container's
``HEALTHCHECK`` follows the same environment as the server; a wildcard listen address
(``0.0.0.0``, ``::``) is checked on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from qwen_asr_realtime import redact
from wyoming.event import async_write_event
from wyoming.info import Describe, Info

from .addresses import ListenAddress, parse_uri
from .audio_budget import read_usage, utc_today
from .info import engine_in_use
from .wire import WireError, read_event

DEFAULT_TIMEOUT_SECONDS = 5.0
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class HealthError(Exception):
    """The server did not answer Describe with Info; the message says what happened."""


def describe_target(address: ListenAddress) -> str:
    """Return the URI checked for ``address`` (a wildcard host becomes loopback)."""
    if address.scheme == "unix":
        return f"unix://{address.path}"
    host = _LOOPBACK.get(address.host, address.host)
    return f"tcp://[{host}]:{address.port}" if ":" in host else f"tcp://{host}:{address.port}"


async def describe(uri: str, timeout: float) -> Info:
    """Return the server's Info; raise HealthError (bad URI, refused, closed, garbage, timeout)."""
    try:
        address = parse_uri(uri)
    except ValueError as err:
        raise HealthError(str(err)) from None
    if address.scheme == "stdio":
        raise HealthError("a stdio:// server has no address to check")
    target = describe_target(address)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            if address.scheme == "unix":
                reader, writer = await asyncio.open_unix_connection(address.path)
            else:
                host = _LOOPBACK.get(address.host, address.host)
                reader, writer = await asyncio.open_connection(host, address.port)
            await async_write_event(Describe().event(), writer)
            while True:
                event = await read_event(reader)
                if event is None:
                    raise HealthError(f"{target} closed the connection without answering Info")
                if Info.is_type(event.type):
                    return Info.from_event(event)
    except TimeoutError:
        raise HealthError(f"{target} did not answer Describe within {timeout:g} s") from None
    except WireError as err:
        raise HealthError(f"{target} is not a Wyoming server: {err}") from None
    except OSError as err:
        # asyncio's messages repeat the address; getaddrinfo's errno is negative.
        errno = err.errno or 0
        reason = os.strerror(errno) if errno > 0 else err.strerror or repr(err)
        raise HealthError(f"cannot check {target}: {reason}") from None
    except ValueError as err:  # Info data that does not parse
        raise HealthError(f"{target} answered an invalid Info: {err}") from None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def summarize(info: Info) -> str:
    """Return one line naming the services in ``info`` and the engine in use."""
    engines = [f"in use: {engine}" for p in info.asr if (engine := engine_in_use(p.description))]
    services = [
        f"{kind} {program.name}{f' {program.version}' if program.version else ''}"
        for kind, programs in (
            ("asr", info.asr),
            ("mic", info.mic),
            ("tts", info.tts),
            ("wake", info.wake),
            ("handle", info.handle),
            ("intent", info.intent),
            ("snd", info.snd),
        )
        for program in programs
    ]
    return ", ".join(services + engines) or "no services"


def run_health(args: argparse.Namespace) -> int:
    """Check the server of ``args.uri``, print the outcome; return 0 (healthy) or 1."""
    try:
        info = asyncio.run(describe(args.uri, args.timeout))
    except HealthError as err:
        print(redact(f"wyoming-qwen-asr health: {err}"), file=sys.stderr)
        return 1
    # Docker keeps this output in the container's health records: it passes the boundary
    # (an older server, or another one, may put an HTTP-layer error in its Info).
    print(redact(f"healthy: {summarize(info)}"))
    usage = read_usage(args.state_file, utc_today())
    if usage is not None:
        print(f"audio sent to Qwen today (UTC): {usage / 60:.1f} minutes ({args.state_file})")
    return 0
