"""Spectral gating (``noisereduce``, non-stationary): a DSP baseline with no model at all."""

from __future__ import annotations

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register


@register
class SpectralGate(Runner):
    """noisereduce's non-stationary spectral gate on the whole utterance (non-causal: no frame-wise path).

    The noise floor is a running estimate smoothed over ``time_constant_s``
    seconds in both time directions, so it needs the whole signal; its STFT is
    centred, so the output is aligned with the input.
    """

    name = "spectral-gate"
    packages = ("noisereduce",)
    description = "noisereduce spectral gating, non-stationary noise floor, whole utterance"

    def __init__(self, prop_decrease: float = 1.0, time_constant_s: float = 2.0) -> None:
        self.prop_decrease = prop_decrease
        self.time_constant_s = time_constant_s

    def process(self, wave: np.ndarray) -> np.ndarray:
        import noisereduce  # imported here: it loads scipy.signal, about 1 s, which listing runners must not pay

        wave = self.check_input(wave)
        out = noisereduce.reduce_noise(
            y=wave,
            sr=SAMPLE_RATE,
            stationary=False,
            prop_decrease=self.prop_decrease,
            time_constant_s=self.time_constant_s,
        )
        return np.asarray(out, dtype=np.float32)[: wave.size]
