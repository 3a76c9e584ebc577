"""The pipeline's audio, held so that a second speech-to-text engine can hear all of it.

One task reads the pipeline's stream (it is never cancelled mid-chunk, so no audio is lost
when a reader stops); each ``reader()`` replays the chunks from the beginning and then
follows the stream live. No Home Assistant imports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable


class HeldAudio:
    """Every chunk of ``source`` up to ``max_bytes``; readers start from the first chunk."""

    def __init__(self, source: AsyncIterable[bytes], max_bytes: int) -> None:
        """Hold ``source`` from its first chunk, up to ``max_bytes``."""
        self._source = source
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflowed = False  # the stream was longer than max_bytes: the rest is dropped
        self.ended = asyncio.Event()
        self._changed = asyncio.Event()
        self._error: BaseException | None = None
        self._pump = asyncio.create_task(self._read_source(), name="qwen_asr hold audio")

    async def _read_source(self) -> None:
        try:
            async for chunk in self._source:
                if self.size + len(chunk) > self.max_bytes:
                    self.overflowed = True
                    break
                self.chunks.append(chunk)
                self.size += len(chunk)
                self._changed.set()
        except Exception as err:
            self._error = err
        finally:
            self.ended.set()
            self._changed.set()

    async def reader(self) -> AsyncGenerator[bytes]:
        """Yield the held chunks, then the live ones; raise what the source raised."""
        index = 0
        while True:
            while index < len(self.chunks):
                yield self.chunks[index]
                index += 1
            if self.ended.is_set():
                if self._error is not None:
                    raise self._error
                return
            self._changed.clear()
            await self._changed.wait()

    async def aclose(self) -> None:
        """Stop reading the source (the recognition is over)."""
        if not self._pump.done():
            self._pump.cancel()
            await asyncio.wait([self._pump])  # unlike awaiting it, keeps our own cancellation
