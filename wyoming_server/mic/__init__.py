"""The Pi's ALSA microphone: capture, fan-out, the Wyoming ``mic`` service and ``listen``.

``pyalsaaudio`` (the ``mic`` extra) is imported only when a device is opened, so the rest of
the server runs without it.
"""

from .alsa import CaptureConfig, MicDeviceError
from .args import add_listen_arguments, add_mic_arguments, check_mic_args
from .capture import MicCapture, MicChunk
from .command import add_mic_command, run_mic_command, start_mic_or_report
from .devices import print_mic_devices
from .fanout import FanOut, Subscription
from .listen import run_listen
from .service import MicService, start_mic_service

__all__ = [
    "CaptureConfig",
    "FanOut",
    "MicCapture",
    "MicChunk",
    "MicDeviceError",
    "MicService",
    "Subscription",
    "add_listen_arguments",
    "add_mic_arguments",
    "add_mic_command",
    "check_mic_args",
    "print_mic_devices",
    "run_listen",
    "run_mic_command",
    "start_mic_or_report",
    "start_mic_service",
]
