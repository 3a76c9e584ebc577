"""The emulator on its own thread and event loop, so its CPU time can be told apart.

The Home Assistant entity path runs in HA's event loop inside the test process; with the
emulator on another thread, that process's CPU time minus the emulator thread's is what
Home Assistant, the entity and the audio source cost.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

from wyoming_server.emulator import QwenEmulator

START_TIMEOUT_S = 10.0


class EmulatorThread:
    """``with EmulatorThread(on_client_event=..., ...) as emulator: emulator.url``"""

    def __init__(self, **emulator_args: Any) -> None:
        self._args = emulator_args
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bench-emulator", daemon=True)
        self._stop: asyncio.Event | None = None
        self._started: Future[QwenEmulator] = Future()
        self.emulator: QwenEmulator | None = None

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with QwenEmulator(**self._args) as emulator:
                self._started.set_result(emulator)
                await self._stop.wait()
        except BaseException as err:
            if not self._started.done():
                self._started.set_exception(err)
            raise

    def __enter__(self) -> EmulatorThread:
        self._thread.start()
        self.emulator = self._started.result(START_TIMEOUT_S)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(START_TIMEOUT_S)

    @property
    def url(self) -> str:
        assert self.emulator is not None
        return self.emulator.url

    def cpu_s(self) -> float:
        """CPU time the emulator's thread has used so far."""
        assert self._thread.ident is not None
        return time.clock_gettime(time.pthread_getcpuclockid(self._thread.ident))
