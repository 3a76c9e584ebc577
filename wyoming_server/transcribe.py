"""``transcribe``: print the transcript of WAV files, straight through the Qwen client."""

from __future__ import annotations

import sys
from pathlib import Path

from qwen_asr_realtime import QwenError

from .audio import AudioFormatError, PcmConverter
from .settings import ServerSettings
from .wav import WavError, read_wav


async def transcribe_file(settings: ServerSettings, path: Path, *, realtime: bool = True) -> str:
    """Raises WavError, AudioFormatError or QwenError.

    Real-time pacing by default: a backlog dumped faster than real time in VAD mode has been
    reported to make the service miss segments."""
    audio = read_wav(path)
    converter = PcmConverter(audio.format)
    client = settings.new_client(settings.session_config(settings.language))
    client.set_audio_converter(converter)
    try:
        client.start()
        async for chunk in audio.stream(realtime=realtime):
            await client.send_audio(chunk)
        await client.finish()
        transcript: str = client.transcript
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
        except (WavError, AudioFormatError, QwenError) as err:
            print(f"{path}: error: {err}", file=sys.stderr)
            status = 1
            continue
        print(f"{path}: {text}" if len(paths) > 1 else text, flush=True)
    return status
