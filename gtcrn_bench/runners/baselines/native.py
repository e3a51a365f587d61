"""Frame runners for libraries that take fixed frames at their own sample rate.

The harness speaks 16 kHz; RNNoise and DeepFilterNet run at 48 kHz on 10 ms
frames. :class:`NativeFrameRunner` streams 16 kHz hops through a soxr streaming
resampler (which, fed the whole stream, gives exactly the offline resampling:
aligned, no added delay), cuts the native-rate stream into the library's
frames and resamples the output back. soxr buffers internally, so output
arrives in bursts and per-hop times include resampling; the concatenated
output is what offline resampling would give.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE, resample
from gtcrn_bench.errors import InputError
from gtcrn_bench.runners.base import FrameRunner, ModelCall

RESAMPLE_QUALITY = "VHQ"  # the quality audio.resample uses for files


class NativeFrameRunner(FrameRunner):
    """A frame runner around a library that maps one native-rate frame to one frame of output.

    Subclasses set :attr:`native_sample_rate` and :attr:`native_frame` and
    implement :meth:`reset_library` and :meth:`process_frame`, and call
    :meth:`reset` at the end of their constructor so ``process_hop`` works at
    once. The library's own lag is the runner's :attr:`delay` (at 16 kHz);
    nothing here adds one.
    """

    native_sample_rate: ClassVar[int] = SAMPLE_RATE
    #: samples per library call at the native rate
    native_frame: ClassVar[int] = 160

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive the 16 kHz hop from the native frame (e.g. 480 at 48 kHz -> 160)."""
        super().__init_subclass__(**kwargs)
        cls.hop = cls.native_frame * SAMPLE_RATE // cls.native_sample_rate

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.float32)
        self._up: Any = None  # soxr.ResampleStream, imported when the runner streams
        self._down: Any = None

    @property
    def resampling(self) -> bool:
        return self.native_sample_rate != SAMPLE_RATE

    @abstractmethod
    def reset_library(self) -> None:
        """Start the library on a new stream."""

    @abstractmethod
    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        """One float32 frame of :attr:`native_frame` samples at the native rate (full scale ±1) -> the output frame."""

    def reset(self) -> None:
        import soxr

        self._pending = np.zeros(0, np.float32)
        if self.resampling:
            rate = self.native_sample_rate
            self._up = soxr.ResampleStream(SAMPLE_RATE, rate, 1, dtype="float32", quality=RESAMPLE_QUALITY)
            self._down = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality=RESAMPLE_QUALITY)
        self.reset_library()

    def model_call(self, audio: np.ndarray) -> ModelCall:
        """The library's ``process_frame`` on one native frame at its own rate (e.g. 10 ms at 48 kHz)."""
        rate, size = self.native_sample_rate, self.native_frame
        native = resample(audio, SAMPLE_RATE, rate)
        n = native.size // size
        if n == 0:
            raise InputError(f"timing audio of {audio.size} samples is shorter than one native frame")
        frames = [np.ascontiguousarray(native[k * size : (k + 1) * size]) for k in range(n)]
        return ModelCall(
            self.process_frame, frames, f"process_frame: one {size}-sample frame at {rate} Hz", 1000.0 * size / rate
        )

    def _run(self, chunk: np.ndarray, last: bool) -> np.ndarray:
        """Resample in, run every complete native frame, resample out; ``last`` pads the final frame with zeros."""
        chunk = np.asarray(chunk, dtype=np.float32)
        native = self._up.resample_chunk(chunk, last=last) if self._up is not None else chunk
        buffered = np.concatenate([self._pending, native])
        if last and buffered.size % self.native_frame:
            buffered = np.pad(buffered, (0, self.native_frame - buffered.size % self.native_frame))
        n_frames = buffered.size // self.native_frame
        frames = buffered[: n_frames * self.native_frame].reshape(n_frames, self.native_frame)
        self._pending = buffered[n_frames * self.native_frame :]
        out = np.concatenate([self.process_frame(f) for f in frames]) if n_frames else np.zeros(0, np.float32)
        return self._down.resample_chunk(out, last=last) if self._down is not None else out

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        return self._run(hop, last=False)

    def flush(self, tail: np.ndarray) -> np.ndarray:
        return self._run(tail, last=True)
