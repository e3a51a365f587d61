"""Speex DSP's noise suppressor (the preprocessor's spectral denoiser) through ``pyspeex-noise``."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pyspeex_noise import AudioProcessor

from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.registry import register

INT16_SCALE = 32768.0
#: pyspeex-noise's default suppression (maximum attenuation of noise, dB)
DEFAULT_SUPPRESSION_DB = -30


@register
class Speex(NativeFrameRunner):
    """Speex noise suppression, 16 kHz, 10 ms int16 frames, automatic gain control off.

    The library's default automatic gain (``auto_gain=4000``) rescales the
    signal over time, which no reference-based metric forgives; ``auto_gain=0``
    turns it off so only the denoiser is measured.
    """

    name = "speex"
    packages = ("pyspeex-noise",)
    description = "Speex DSP noise suppression (pyspeex-noise), 16 kHz, 10 ms frames, AGC off"
    native_sample_rate: ClassVar[int] = 16000
    native_frame: ClassVar[int] = 160
    #: measured by cross-correlation on VoiceBank+DEMAND pairs (tests/test_baselines.py): 10 ms
    delay = 160

    def __init__(self, suppression_db: int = DEFAULT_SUPPRESSION_DB) -> None:
        super().__init__()
        self.suppression_db = suppression_db
        self._processor: AudioProcessor | None = None
        self.reset()

    def reset_library(self) -> None:
        self._processor = AudioProcessor(auto_gain=0, noise_suppression=self.suppression_db)

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        pcm = np.clip(np.round(frame * INT16_SCALE), -32768, 32767).astype("<i2")
        out = np.frombuffer(self._processor.process_10ms(pcm.tobytes()), dtype="<i2")
        return out.astype(np.float32) / np.float32(INT16_SCALE)
