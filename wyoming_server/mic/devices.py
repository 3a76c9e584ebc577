"""``--mic-list``: the ALSA capture devices, in the form ``--mic-device`` accepts."""

from __future__ import annotations

import sys

from .alsa import MicDeviceError, capture_devices

# Device names that go through ALSA's converters, so any rate/channels work.
_CONVERTING = ("default", "sysdefault", "plughw", "dsnoop")


def print_mic_devices() -> int:
    """Print one device per line (best first); exit status 2 without pyalsaaudio.

    None found is said on stderr with status 0: the listing worked (the Pi recipe runs it
    under ``set -e`` before a microphone may be plugged in) and stdout stays a list.
    """
    try:
        names = capture_devices()
    except MicDeviceError as err:
        print(f"wyoming-qwen-asr: error: {err}", file=sys.stderr)
        return 2
    # ALSA always lists "null" (it discards audio): on a machine without a microphone it is
    # the only name, which looks like a device called null.
    names = [name for name in names if name != "null"]
    if not names:
        print(
            "No ALSA capture devices found: connect a microphone (arecord -l lists the sound "
            "cards ALSA sees)",
            file=sys.stderr,
        )
        return 0
    # Stable sort: converting devices first, ALSA's order otherwise.
    for name in sorted(names, key=lambda name: not name.startswith(_CONVERTING)):
        print(name)
    return 0
