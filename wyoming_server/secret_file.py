"""Reading a secret (API key, Home Assistant token) from a file, the way ``ps`` cannot see it."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


def read_secret_file(path: Path, option: str) -> str:
    """The file's stripped text; ValueError (one line, naming ``option``) if it cannot be
    used. Warns when other users may read the file."""
    try:
        mode = path.stat().st_mode
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {option} {path}: {type(err).__name__}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _LOGGER.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    if not secret:
        raise ValueError(f"{option} {path} is empty")
    return secret
