"""What is timed for each kind of runner, fed with frames of real audio.

- :class:`SpectralFrameRunner` (GTCRN in PyTorch or onnxruntime): the model
  call ``step(spectrum)`` alone, as the published RTF times one ONNX session
  run per 16 ms frame; separately the whole ``process_hop`` (STFT, model, ISTFT).
- :class:`NativeFrameRunner` (RNNoise, DeepFilterNet, Speex): the library's
  ``process_frame`` on one native frame at its own rate (10 ms), and the whole
  ``process_hop`` at 16 kHz, whose times include soxr resampling and come in
  bursts (soxr buffers: some hops run no native frame, some two).
- other :class:`FrameRunner`: ``process_hop`` is both (no separable model call).
- any other runner is offline: ``process`` on the whole file, timed per call;
  its "hop" is the file's duration, so its RTF is the whole-file RTF.

RTF is always a runner's mean time over its own hop duration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gtcrn_bench.audio import resample
from gtcrn_bench.errors import InputError
from gtcrn_bench.runners.base import SAMPLE_RATE, FrameRunner, Runner
from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.stft import stft
from gtcrn_bench.timing import FrameCall


@dataclass
class Targets:
    """The callables timed for one runner and the hop durations their RTFs refer to."""

    kind: str  # "frame" or "offline"
    model: FrameCall
    model_label: str
    hop_ms: float
    step: FrameCall | None  # None: the model call is the whole step
    step_label: str
    step_hop_ms: float
    reset: Callable[[], None]


def _cycle(items: list[np.ndarray]) -> FrameCall:
    """Index -> item, wrapping round (state carries on across the wrap, as in a longer stream)."""
    n = len(items)
    return lambda i: items[i % n]


def _chunks(wave: np.ndarray, size: int) -> list[np.ndarray]:
    n = wave.size // size
    if n == 0:
        raise InputError(f"timing audio of {wave.size} samples is shorter than one {size}-sample frame")
    return [np.ascontiguousarray(wave[k * size : (k + 1) * size]) for k in range(n)]


def _spectra(wave: np.ndarray) -> list[np.ndarray]:
    spec = stft(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))).numpy()
    return [np.ascontiguousarray(spec[:, :, t : t + 1]) for t in range(spec.shape[2])]


def _frame_targets(runner: FrameRunner, audio: np.ndarray) -> Targets:
    hop_at = _cycle(_chunks(audio, runner.hop))
    hop_ms = 1000.0 * runner.hop / SAMPLE_RATE

    def whole_step(i: int) -> object:
        return runner.process_hop(hop_at(i))

    if isinstance(runner, SpectralFrameRunner):
        spec_at = _cycle(_spectra(audio))
        return Targets(
            "frame",
            lambda i: runner.step(spec_at(i)),
            "step(spectrum): the model call",
            hop_ms,
            whole_step,
            "process_hop: STFT + model + ISTFT",
            hop_ms,
            runner.reset,
        )
    if isinstance(runner, NativeFrameRunner):
        rate, size = runner.native_sample_rate, runner.native_frame
        native_at = _cycle(_chunks(resample(audio, SAMPLE_RATE, rate), size))
        return Targets(
            "frame",
            lambda i: runner.process_frame(native_at(i)),
            f"process_frame: one {size}-sample frame at {rate} Hz",
            1000.0 * size / rate,
            whole_step,
            "process_hop: 16 kHz hop" + (", soxr resampling included" if runner.resampling else ""),
            hop_ms,
            runner.reset,
        )
    return Targets("frame", whole_step, "process_hop", hop_ms, None, "process_hop", hop_ms, runner.reset)


def _nothing() -> None:
    """An offline runner has no state to reset."""


def _offline_targets(runner: Runner, audio: np.ndarray) -> Targets:
    wave = runner.check_input(audio)
    duration_ms = 1000.0 * wave.size / runner.sample_rate
    label = f"process: the whole {duration_ms / 1000:.2f} s file"
    return Targets("offline", lambda i: runner.process(wave), label, duration_ms, None, label, duration_ms, _nothing)


def targets(runner: Runner, audio: np.ndarray) -> Targets:
    """What to time for ``runner`` on ``audio`` (16 kHz mono float32 speech)."""
    audio = runner.check_input(audio)
    if isinstance(runner, FrameRunner):
        return _frame_targets(runner, audio)
    return _offline_targets(runner, audio)
