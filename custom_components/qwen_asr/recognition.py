"""One recognition: the pipeline's audio goes to Qwen while Qwen's events come back.

One task feeds the audio; the caller's loop reads the session's events and turns them into
transcripts. No Home Assistant imports: this is the protocol side of the STT entity.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable

from .const import MAX_UTTERANCE_SECONDS
from .realtime import (
    MAX_REQUEST_SECONDS,
    Final,
    Finished,
    Partial,
    QwenError,
    QwenRealtimeClient,
    join_transcripts,
)


class Recognition:
    """Streams ``stream`` into ``client`` and yields ``(text, final)`` pairs.

    Partial pairs carry the whole transcript so far (every completed utterance, then the
    current one's preview), each replacing the previous one; the last pair is final.
    ``first_final_ends``: Qwen decides the end of speech, so the first completed
    utterance is the answer, unless the audio has already ended (then every utterance
    counts, as when Home Assistant decides).
    """

    def __init__(
        self,
        client: QwenRealtimeClient,
        stream: AsyncIterable[bytes],
        *,
        first_final_ends: bool,
    ) -> None:
        """Prepare a recognition of ``stream`` with ``client`` (not yet started)."""
        self._client = client
        self._stream = stream
        self._first_final_ends = first_final_ends
        self._audio_ended = False

    async def transcripts(self) -> AsyncGenerator[tuple[str, bool]]:
        """Yield (transcript, final) pairs; raise QwenError, or what the audio stream raised."""
        client = self._client
        loop = asyncio.get_running_loop()
        budget = MAX_UTTERANCE_SECONDS if self._first_final_ends else MAX_REQUEST_SECONDS
        deadline = loop.time() + budget
        client.start()  # the WebSocket opens now; audio is held until the session is ready
        feeder = asyncio.create_task(self._feed(), name="qwen_asr feed audio")
        finals: list[str] = []
        shown = ""
        try:
            while True:
                event = await client.next_event(max(deadline - loop.time(), 0.0))
                if isinstance(event, Finished):
                    break
                if isinstance(event, Final):
                    finals.append(event.transcript)
                    if self._first_final_ends and not self._audio_ended:
                        yield event.transcript.strip(), True
                        return
                    text = join_transcripts(finals)
                elif isinstance(event, Partial):
                    text = join_transcripts([*finals, event.preview])
                else:
                    continue
                if text and text != shown:
                    shown = text
                    yield text, False
            if feeder.done():
                feeder.result()  # raises what the audio stream raised, if anything
            yield join_transcripts(finals), True
        finally:
            if not feeder.done():
                feeder.cancel()
                await asyncio.wait([feeder])  # unlike awaiting it, keeps our own cancellation
            if feeder.done() and not feeder.cancelled():
                feeder.exception()  # retrieved, so never reported as unretrieved

    async def _feed(self) -> None:
        """Send the audio as it arrives, then end the session (waiting is bounded)."""
        client = self._client
        try:
            async for chunk in self._stream:
                await client.send_audio(chunk)
            self._audio_ended = True
            # A session that does not finish in time fails, which ends the event loop.
            await client.finish()
        except QwenError:
            return  # the session failed: the event loop reports it
        except Exception:
            # The audio stream broke: end the session so that the event loop ends too.
            with contextlib.suppress(QwenError):
                client.end_session_nowait()
            raise
