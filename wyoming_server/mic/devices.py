"""``--mic-list``: the ALSA capture devices, in the form ``--mic-device`` accepts."""

from __future__ import annotations

import sys

from .alsa import MicDeviceError, capture_devices

# Device names that go through ALSA's converters, so any rate/channels work.
_CONVERTING = ("default", "sysdefault", "plughw", "dsnoop")


def print_mic_devices() -> int:
    """Print one device per line (best first); exit status 2 without pyalsaaudio."""
    try:
        names = capture_devices()
    except MicDeviceError as err:
        print(f"wyoming-qwen-asr: error: {err}", file=sys.stderr)
        return 2
    if not names:
        print("No ALSA capture devices found", file=sys.stderr)
        return 1
    # Stable sort: converting devices first, ALSA's order otherwise.
    for name in sorted(names, key=lambda name: not name.startswith(_CONVERTING)):
        print(name)
    return 0
