"""How far a target's frames are from the float32 PyTorch streaming model: every frame of the pairs, and a long stream.

The reference is :func:`gtcrn_bench.models.fast_stream.to_fast_stream`, the
frozen TorchScript streaming form, whose output equals the plain streaming
module's to float32 round-off (waveform within 3e-7, tests/test_fast_stream.py)
and runs ~4x faster, which matters over the tens of thousands of frames here.
Each side runs on its own caches from zero, as a deployment would, so cache
errors accumulate as they do in use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gtcrn_bench.conversions.gate import DRIFT_WINDOW, MIN_DRIFT_FRAMES
from gtcrn_bench.convert.sessions import Session
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import zero_caches
from gtcrn_bench.onnx.compare import ErrorStats, spectrum, torch_single_thread
from gtcrn_bench.stft import HOP, istft


def frames_of(wave: np.ndarray) -> np.ndarray:
    """(T, 1, 257, 1, 2) contiguous spectrum frames of a waveform."""
    spec = spectrum(wave).numpy()
    return np.ascontiguousarray(spec.transpose(2, 0, 1, 3)[:, :, :, None, :])


def torch_frames(model: torch.jit.ScriptModule, frames: np.ndarray) -> np.ndarray:
    """The float32 PyTorch streaming model over ``frames`` from zero caches -> (T, 1, 257, 1, 2)."""
    caches = zero_caches()
    out = np.empty_like(frames)
    with torch.inference_mode(), torch_single_thread():
        for t, frame in enumerate(frames):
            enh, *caches = model(torch.from_numpy(frame), *caches)
            out[t] = enh.numpy()
    return out


def session_frames(session: Session, frames: np.ndarray) -> np.ndarray:
    """A target's session over ``frames`` from zero caches -> (T, 1, 257, 1, 2)."""
    session.reset()
    out = np.empty_like(frames)
    for t, frame in enumerate(frames):
        out[t] = session.step(frame)
    return out


def to_wave(frames: np.ndarray, length: int | None = None) -> np.ndarray:
    """Inverse STFT of (T, 1, 257, 1, 2) frames."""
    spec = torch.from_numpy(np.ascontiguousarray(frames[:, :, :, 0, :].transpose(1, 2, 0, 3)))
    return istft(spec, length)[0].numpy()


def non_finite(frames: np.ndarray) -> tuple[int, int | None]:
    """How many frames hold NaN or Inf, and the first one's index."""
    bad = ~np.isfinite(frames).reshape(frames.shape[0], -1).all(axis=1)
    return int(bad.sum()), (int(np.argmax(bad)) if bad.any() else None)


@dataclass
class ErrorTotals:
    """Max abs error and error energy against the reference, accumulated over pairs."""

    max_abs: float = 0.0
    error_energy: float = 0.0
    signal_energy: float = 0.0

    def add(self, test: np.ndarray, reference: np.ndarray) -> None:
        diff = np.asarray(test, np.float64) - np.asarray(reference, np.float64)
        finite = np.isfinite(diff)
        self.max_abs = max(self.max_abs, float(np.max(np.abs(diff[finite]))) if finite.any() else 0.0)
        if not finite.all():
            self.max_abs = float("inf")
        self.error_energy += float(np.sum(diff[finite] ** 2))
        self.signal_energy += float(np.sum(np.asarray(reference, np.float64) ** 2))

    @property
    def snr_db(self) -> float:
        if self.error_energy == 0:
            return float("inf")
        return float(10 * np.log10(max(self.signal_energy, 1e-30) / self.error_energy))


@dataclass
class PairErrors:
    """Errors over every frame of every pair (each pair a stream from zero caches)."""

    spectrum: ErrorTotals = field(default_factory=ErrorTotals)
    waveform: ErrorTotals = field(default_factory=ErrorTotals)
    frames: int = 0
    non_finite_frames: int = 0
    first_non_finite: int | None = None

    def add(self, test: np.ndarray, reference: np.ndarray, test_wave: np.ndarray, ref_wave: np.ndarray) -> None:
        count, first = non_finite(test)
        if first is not None and self.first_non_finite is None:
            self.first_non_finite = self.frames + first
        self.non_finite_frames += count
        self.frames += test.shape[0]
        self.spectrum.add(test, reference)
        self.waveform.add(test_wave, ref_wave)


@dataclass(frozen=True)
class Drift:
    """Error SNR of the waveform over the same audio heard at the start of the long stream and in its last pass.

    The long stream repeats one segment, so the first window and the last
    pass's window hold identical input: only the caches' history differs, and a
    drop in SNR between them is error growing in the recurrent state.
    """

    frames: int
    early_snr_db: float
    late_snr_db: float
    max_abs_early: float
    max_abs_late: float


SEGMENT_FRAMES = 5000  # frames of the pairs repeated to make the long stream (at least two passes)


@dataclass(frozen=True)
class LongStream:
    """The frames of the long stream and where its last pass starts (a frame index)."""

    frames: np.ndarray
    last_pass: int


def long_stream(waves: list[np.ndarray], min_frames: int = MIN_DRIFT_FRAMES) -> LongStream:
    """Up to :data:`SEGMENT_FRAMES` frames of the waves, repeated (at least twice) to at least ``min_frames`` frames.

    The segment is a whole number of hops, so every pass's frames line up with the first pass's.
    """
    joined = np.concatenate(waves)
    segment = joined[: min(joined.size // HOP, SEGMENT_FRAMES) * HOP]
    passes = max(2, -(-min_frames // (segment.size // HOP)))
    frames = frames_of(np.tile(segment, passes))
    return LongStream(frames, (passes - 1) * (segment.size // HOP))


def drift(
    stream: LongStream, reference_frames: np.ndarray, test_frames: np.ndarray, window: int = DRIFT_WINDOW
) -> Drift:
    """Error SNR over the first ``window`` frames and over the same frames of the last pass."""
    window = min(window, stream.last_pass)
    ref, test = to_wave(reference_frames), to_wave(test_frames)
    start, n = stream.last_pass * HOP, window * HOP
    early = ErrorStats.between(test[:n], ref[:n])
    late = ErrorStats.between(test[start : start + n], ref[start : start + n])
    return Drift(int(reference_frames.shape[0]), early.snr_db, late.snr_db, early.max_abs, late.max_abs)


def reference_model(offline: GTCRN) -> torch.jit.ScriptModule:
    """The float32 PyTorch streaming reference (frozen TorchScript form)."""
    from gtcrn_bench.models.fast_stream import to_fast_stream

    return to_fast_stream(offline)
