"""What is timed for each runner, fed with frames of real audio, as the runner contract declares it.

- a :class:`~gtcrn_bench.runners.base.FrameRunner` with a
  :meth:`~gtcrn_bench.runners.base.FrameRunner.model_call` (GTCRN in PyTorch or
  onnxruntime: ``step(spectrum)``; RNNoise, DeepFilterNet, Speex: one native
  frame): that call alone, and separately the whole ``process_hop`` (for
  libraries at 48 kHz it includes soxr resampling and comes in bursts);
- any other frame runner: ``process_hop`` is both (no separable model call);
- any other runner is offline: ``process`` on the whole file, timed per call;
  its "hop" is the file's duration, so its RTF is the whole-file RTF.

RTF is always a runner's mean time over its own hop duration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gtcrn_bench.errors import InputError
from gtcrn_bench.runners.base import FrameRunner, Runner
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


def _cycle(items: list[np.ndarray]) -> Callable[[int], np.ndarray]:
    """Index -> item, wrapping round (state carries on across the wrap, as in a longer stream)."""
    n = len(items)
    return lambda i: items[i % n]


def _chunks(wave: np.ndarray, size: int) -> list[np.ndarray]:
    n = wave.size // size
    if n == 0:
        raise InputError(f"timing audio of {wave.size} samples is shorter than one {size}-sample frame")
    return [np.ascontiguousarray(wave[k * size : (k + 1) * size]) for k in range(n)]


def _frame_targets(runner: FrameRunner, audio: np.ndarray) -> Targets:
    hop_at = _cycle(_chunks(audio, runner.hop))
    hop_ms = 1000.0 * runner.hop / runner.sample_rate

    def whole_step(i: int) -> object:
        return runner.process_hop(hop_at(i))

    step_label = "process_hop: the whole frame step"
    call = runner.model_call(audio)
    if call is None:
        return Targets("frame", whole_step, step_label, hop_ms, None, step_label, hop_ms, runner.reset)
    input_at = _cycle(call.inputs)
    return Targets(
        "frame",
        lambda i: call.call(input_at(i)),
        call.label,
        call.hop_ms,
        whole_step,
        step_label,
        hop_ms,
        runner.reset,
    )


def _nothing() -> None:
    """An offline runner has no state to reset."""


def _offline_targets(runner: Runner, wave: np.ndarray) -> Targets:
    duration_ms = 1000.0 * wave.size / runner.sample_rate
    label = f"process: the whole {duration_ms / 1000:.2f} s file"
    return Targets("offline", lambda i: runner.process(wave), label, duration_ms, None, label, duration_ms, _nothing)


def targets(runner: Runner, audio: np.ndarray) -> Targets:
    """What to time for ``runner`` on ``audio`` (16 kHz mono float32 speech)."""
    audio = runner.check_input(audio)
    if isinstance(runner, FrameRunner):
        return _frame_targets(runner, audio)
    return _offline_targets(runner, audio)
