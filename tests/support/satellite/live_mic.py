"""A live microphone for ALSA: a FIFO the ``testfile`` device of
tests/wyoming_server/mic/asoundrc reads, fed in real time (silence, or speech when asked) by a
thread, as a sound card would."""

from __future__ import annotations

import collections
import os
import select
import tempfile
import threading
import time
from pathlib import Path

ASOUNDRC = Path(__file__).resolve().parents[2] / "wyoming_server" / "mic" / "asoundrc"
ALSA_ENV = {"ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{ASOUNDRC}"}
PERIOD_SAMPLES = 1024
PERIOD_BYTES = PERIOD_SAMPLES * 2  # below PIPE_BUF: every write is whole
PERIOD_SECONDS = PERIOD_SAMPLES / 16000


class LiveMicrophone:
    def __init__(self) -> None:
        # ALSA splits device arguments at ',' and '=', so keep the path plain.
        self._dir = Path(tempfile.mkdtemp(prefix="satmic"))
        self.path = self._dir / "live.fifo"
        os.mkfifo(self.path)
        self.device = f"testfile:{self.path}"
        # Read-write: opening never blocks, and a restarting reader never sees end-of-file.
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        self._pending: collections.deque[bytes] = collections.deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-mic", daemon=True)
        self._thread.start()

    def say(self, pcm: bytes) -> None:
        """Queue speech; it goes out at real-time pace after what is already queued."""
        pcm += bytes(-len(pcm) % PERIOD_BYTES)
        with self._lock:
            self._pending.extend(
                pcm[i : i + PERIOD_BYTES] for i in range(0, len(pcm), PERIOD_BYTES)
            )

    def _run(self) -> None:
        silence = bytes(PERIOD_BYTES)
        due = time.monotonic()
        while not self._stop.is_set():
            # The pipe is full while no mic service reads it (a restart): wait, keep order.
            _, writable, _ = select.select([], [self._fd], [], 0.1)
            if not writable:
                due = time.monotonic()  # no burst to catch up after the reader is back
                continue
            with self._lock:
                period = self._pending.popleft() if self._pending else silence
            os.write(self._fd, period)
            due += PERIOD_SECONDS
            self._stop.wait(max(0.0, due - time.monotonic()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        os.close(self._fd)
        self.path.unlink()
        self._dir.rmdir()
