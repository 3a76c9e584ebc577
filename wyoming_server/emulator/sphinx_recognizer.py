"""Real offline recognition of home commands with pocketsphinx (for the offline demo)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .pcm import Upsampler2x
from .recognizers import UtteranceRecognizer

GRAMMAR_PATH = Path(__file__).with_name("home_commands.gram")
_DECODER_RATE = 16000


def _load_pocketsphinx() -> Any:
    try:
        import pocketsphinx  # noqa: PLC0415 - optional dependency, imported on demand
    except ImportError as err:
        raise RuntimeError(
            "The pocketsphinx recognizer needs the 'pocketsphinx' package: "
            "pip install 'wyoming-qwen-asr[demo]'"
        ) from err
    return pocketsphinx


class _SphinxUtterance:
    def __init__(self, owner: PocketSphinxRecognizer, decoder: Any, sample_rate: int) -> None:
        self._owner = owner
        self._decoder = decoder
        # The bundled acoustic model is 16 kHz; telephony audio is upsampled first.
        self._upsampler = Upsampler2x() if sample_rate == 8000 else None
        self._done = False
        # Live cepstral-mean normalization carries over between utterances, which makes
        # results depend on what a pooled decoder heard before; start each one afresh.
        decoder.set_cmn(owner.initial_cmn)
        decoder.start_utt()

    def feed(self, pcm: bytes) -> None:
        if self._done or not pcm:
            return
        if self._upsampler is not None:
            pcm = self._upsampler.push(pcm)
        self._decoder.process_raw(pcm, False, False)

    def _hypothesis(self) -> str:
        hyp = self._decoder.hyp()
        return "" if hyp is None else str(hyp.hypstr)

    def partial(self) -> str:
        return "" if self._done else self._hypothesis()

    def final(self) -> str:
        if self._done:
            return ""
        self._decoder.end_utt()
        text = self._hypothesis()
        self._done = True
        self._owner.release(self._decoder)
        return text


class PocketSphinxRecognizer:
    """pocketsphinx with its bundled US-English model and a JSGF grammar of home commands.

    Decoders take ~0.2 s to build, so finished ones are pooled and reused.
    """

    def __init__(self, grammar_path: Path = GRAMMAR_PATH) -> None:
        """Load pocketsphinx, build a first decoder of ``grammar_path``: a bad one fails early."""
        self._pocketsphinx = _load_pocketsphinx()
        self._grammar_path = grammar_path
        self._pool: list[Any] = []
        self._lock = threading.Lock()
        first = self._new_decoder()  # fails early on a bad grammar
        self.initial_cmn: str = first.get_cmn()
        self.release(first)

    def _new_decoder(self) -> Any:
        return self._pocketsphinx.Decoder(
            jsgf=str(self._grammar_path), samprate=_DECODER_RATE, loglevel="FATAL"
        )

    def release(self, decoder: Any) -> None:
        """Put ``decoder`` back in the pool for a later utterance."""
        with self._lock:
            self._pool.append(decoder)

    def __call__(
        self, *, sample_rate: int, utterance_index: int, session_id: str
    ) -> UtteranceRecognizer:
        """Return a recognizer of one utterance at ``sample_rate``, reusing a pooled decoder."""
        with self._lock:
            decoder = self._pool.pop() if self._pool else None
        return _SphinxUtterance(self, decoder or self._new_decoder(), sample_rate)
