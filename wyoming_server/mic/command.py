"""``wyoming-qwen-asr mic``: the Wyoming mic service in a process of its own.

The satellite's microphone then survives a restart of the speech-to-text server (and the
other way round). ``serve --mic-uri`` runs the same service inside the server process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from .alsa import MicDeviceError
from .service import MicService, start_mic_service

_LOGGER = logging.getLogger(__name__)

PROG = "wyoming-qwen-asr"


async def start_mic_or_report(args: argparse.Namespace) -> tuple[MicService | None, int]:
    """Start the service on ``args.mic_uri``; on failure say why and return the exit status.

    The status is 2 when the device cannot be opened, 1 when the address cannot be bound.
    """
    try:
        return await start_mic_service(args), 0
    except MicDeviceError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return None, 2
    except OSError as err:
        _LOGGER.error("Cannot listen on %s: %s", args.mic_uri, err)
        return None, 1


async def serve_until_stopped(args: argparse.Namespace) -> int:
    """Serve the microphone until SIGTERM or SIGINT; return the exit status."""
    service, status = await start_mic_or_report(args)
    if service is None:
        return status
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        _LOGGER.info("Shutting down the mic service")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
        await service.stop()
    return 0
