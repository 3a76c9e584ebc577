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

    Real time by default, as a microphone; ``realtime=False`` hands the client the whole
    file at once, which it sends as a recording."""
    audio = read_wav(path)
    converter = PcmConverter(audio.format)
    client = settings.new_client(settings.session_config(settings.language))
    client.set_audio_converter(converter)
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
