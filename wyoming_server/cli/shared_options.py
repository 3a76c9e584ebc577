"""What ``serve`` and ``health`` share: the server's address and the audio usage file."""

from __future__ import annotations

from pathlib import Path

from ..audio_budget import default_state_file
from .options import Container, option

# Where the server listens unless told (QWEN_ASR_URI); ``health`` checks the same.
DEFAULT_URI = "tcp://0.0.0.0:10300"


def add_state_file_argument(container: Container) -> None:
    """Add the audio usage file; ``serve`` writes it and ``health`` reports it."""
    option(
        container,
        "--state-file",
        env="QWEN_ASR_STATE_FILE",
        default=default_state_file(),
        blank_is_unset=True,
        type=Path,
        metavar="FILE",
        shown_default="$STATE_DIRECTORY/audio-usage.json, else "
        "~/.local/state/wyoming-qwen-asr/audio-usage.json",
        help="where --daily-audio-minutes keeps today's count",
    )
