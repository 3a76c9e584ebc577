"""``transcribe``: print the transcript of WAV files, straight through the Qwen client."""

from __future__ import annotations

import sys
from pathlib import Path

from qwen_asr_realtime import QwenError

from .qwen_client import new_client
from .settings import ServerSettings
from .wav import WavError, read_wav


async def transcribe_file(settings: ServerSettings, path: Path, *, realtime: bool = True) -> str:
    """Return a WAV file's transcript; raise WavError or QwenError.

    Real time by default, as a microphone; ``realtime=False`` hands the client the whole
    file at once, which it sends as a recording. A file longer than a server request may
    last (``max_request_seconds``) is cut there, with a note on stderr.
    """
    # Converted to the session's format as it is read, as the Wyoming path converts.
    audio = read_wav(path, max_seconds=settings.max_request_seconds)
    if audio.truncated:
        print(
            f"{path}: longer than {settings.max_request_seconds:g} s, the longest request; "
            f"transcribing its first {settings.max_request_seconds:g} s",
            file=sys.stderr,
        )
    client = new_client(settings, settings.session_config(settings.language))
    try:
        client.start()
        if realtime:
            async for chunk in audio.stream(realtime=True):
                await client.send_audio(chunk)
        else:
            # All of it before the session is configured: the client sends it as a
            # recording (manual mode, committed at its silences), unpaced.
            client.append_audio(audio.pcm)
        await client.finish()
        transcript: str = client.results.transcript
        return transcript
    finally:
        await client.close()


async def transcribe_files(
    settings: ServerSettings, paths: list[Path], *, realtime: bool = True
) -> int:
    """Print ``FILE: transcript`` per file; exit status 1 if any file failed."""
    status = 0
    for path in paths:
        try:
            text = await transcribe_file(settings, path, realtime=realtime)
        except (WavError, QwenError) as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {text}" if len(paths) > 1 else text, flush=True)
    return status
