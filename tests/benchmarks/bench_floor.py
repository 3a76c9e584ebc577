"""The floor: the least any Wyoming ASR server written in Python costs per stream.

A plain ``wyoming`` ``AsyncEventHandler`` (as wyoming-faster-whisper is built) that reads
every event, discards the audio and answers AudioStop with an empty Transcript. Run as its
own process, like the server, so the benchmark measures both the same way:

    python tests/benchmarks/bench_floor.py --uri tcp://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from wyoming.asr import Transcript
from wyoming.audio import AudioStop
from wyoming.event import Event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info
from wyoming.server import AsyncEventHandler, AsyncServer

_ATTRIBUTION = Attribution(name="benchmark", url="https://example.invalid")
INFO = Info(
    asr=[
        AsrProgram(
            name="floor",
            description="reads and discards audio",
            attribution=_ATTRIBUTION,
            installed=True,
            version="1",
            models=[
                AsrModel(
                    name="floor",
                    description="none",
                    attribution=_ATTRIBUTION,
                    installed=True,
                    languages=["en"],
                    version="1",
                )
            ],
        )
    ]
)


class DiscardingHandler(AsyncEventHandler):
    async def handle_event(self, event: Event) -> bool:
        if AudioStop.is_type(event.type):
            await self.write_event(Transcript(text="").event())
        elif Describe.is_type(event.type):
            await self.write_event(INFO.event())
        return True


async def main(uri: str) -> None:
    server = AsyncServer.from_uri(uri)
    await server.run(partial(DiscardingHandler))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", required=True)
    asyncio.run(main(parser.parse_args().uri))
