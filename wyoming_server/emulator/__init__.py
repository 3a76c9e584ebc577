"""Local Qwen3-ASR realtime-compatible service for tests, benchmarks and the offline demo.

Imports only the standard library, ``websockets`` and ``qwen_asr_realtime``; pocketsphinx is
loaded on demand by :class:`PocketSphinxRecognizer`.
"""

from .behaviour import Behaviour, Faults
from .recognizers import RecognizerFactory, ScriptedRecognizer, UtteranceRecognizer
from .records import RejectedHandshake, SessionRecord
from .server import QwenEmulator
from .session_config import SessionConfig, TurnDetection
from .sphinx_recognizer import PocketSphinxRecognizer

__all__ = [
    "Behaviour",
    "Faults",
    "PocketSphinxRecognizer",
    "QwenEmulator",
    "RecognizerFactory",
    "RejectedHandshake",
    "ScriptedRecognizer",
    "SessionConfig",
    "SessionRecord",
    "TurnDetection",
    "UtteranceRecognizer",
]
