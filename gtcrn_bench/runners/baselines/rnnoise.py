"""RNNoise (Valin 2018) through ``pyrnnoise``'s bundled librnnoise and built-in weights."""

from __future__ import annotations

import ctypes
from typing import ClassVar

import numpy as np

from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import CheckpointError
from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.registry import register

#: RNNoise works on 16-bit sample values held in floats
INT16_SCALE = 32768.0


@register
class RNNoise(NativeFrameRunner):
    """RNNoise at its native 48 kHz, one 10 ms frame per call.

    The frame goes to ``rnnoise_process_frame`` directly as float32, rather than
    through pyrnnoise's ``process_mono_frame``, which casts its output to int16
    (truncating, and wrapping around on overflow).
    """

    name = "rnnoise"
    packages = ("pyrnnoise", "soxr")
    description = "RNNoise (pyrnnoise's librnnoise), 48 kHz, 10 ms frames, resampled from/to 16 kHz with soxr"
    # RNNoise's fixed frame: 480 samples at 48 kHz (librnnoise's SAMPLE_RATE and FRAME_SIZE, checked when built;
    # written out so that listing runners does not import pyrnnoise)
    native_sample_rate: ClassVar[int] = 48000
    native_frame: ClassVar[int] = 480
    #: measured by cross-correlation on VoiceBank+DEMAND pairs (tests/test_baselines.py): 20 ms
    delay = 320

    def __init__(self) -> None:
        from pyrnnoise import rnnoise as librnnoise

        if (self.native_sample_rate, self.native_frame) != (librnnoise.SAMPLE_RATE, librnnoise.FRAME_SIZE):
            raise CheckpointError(
                f"pyrnnoise's librnnoise works on {librnnoise.FRAME_SIZE} samples at {librnnoise.SAMPLE_RATE} Hz, "
                f"not the {self.native_frame} at {self.native_sample_rate} Hz this runner was written for"
            )
        self._lib = librnnoise
        super().__init__()
        self._state: int | None = None
        self._buffer = np.zeros(self.native_frame, np.float32)
        self._pointer = self._buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self._library_sha256 = sha256_file(librnnoise.LIBRNNOISE)
        self.reset()

    def artefacts(self) -> dict[str, str]:
        return {"library": self._library_sha256}  # the weights are compiled into librnnoise

    def reset_library(self) -> None:
        self._release()
        self._state = self._lib.create()

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        np.multiply(frame, INT16_SCALE, out=self._buffer)
        self._lib.lib.rnnoise_process_frame(self._state, self._pointer, self._pointer)
        return self._buffer / np.float32(INT16_SCALE)

    def _release(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._lib.destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self._release()
