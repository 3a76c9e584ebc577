"""Read a secret (API key, Home Assistant token) from a file, the way ``ps`` cannot see it."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

from qwen_asr_realtime import MAX_SECRET_CHARS, SecretFormatError, check_secret

_LOGGER = logging.getLogger(__name__)

# A key file holds one short line; reading stops after this much (UTF-8: 4 bytes a
# character, and room for a final newline) so that a wrong path cannot fill memory.
MAX_SECRET_FILE_BYTES = 4 * MAX_SECRET_CHARS + 2


def read_secret_file(path: Path, option: str) -> str:
    """Return the file's secret: one line of printable ASCII, surrounding spaces stripped.

    Raise ValueError (one line, naming ``option`` and the problem, never the file's text)
    when it cannot be used. Warn when other users may read the file.
    """
    try:
        mode = path.stat().st_mode
        with path.open("rb") as file:
            data = file.read(MAX_SECRET_FILE_BYTES + 1)
        if len(data) > MAX_SECRET_FILE_BYTES:
            raise ValueError(f"{option} {path} is larger than {MAX_SECRET_FILE_BYTES} bytes")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read {option} {path}: {type(err).__name__}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _LOGGER.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    if not text.strip():
        raise ValueError(f"{option} {path} is empty")
    try:
        return check_secret(text, f"{option} {path}")
    except SecretFormatError as err:
        raise ValueError(str(err)) from None
