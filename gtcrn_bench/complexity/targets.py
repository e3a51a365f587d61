"""What of a model the counter can run, and how to get that from a runner.

A runner is countable when :func:`countable_model` finds, in this order: its
own ``countable()`` method returning a :class:`Countable` (the hook for
third-party runners); a ``model`` attribute holding GTCRN in either form
(gtcrn-offline, gtcrn-stream); ONNX graphs it runs once per hop, from an
``onnx_paths()`` method (gtcrn-onnx, dtln, sherpa-gtcrn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from gtcrn_bench.complexity.conventions import Convention
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import StreamGTCRN, to_stream, zero_caches
from gtcrn_bench.runners.base import FrameRunner, Runner
from gtcrn_bench.stft import FRAMES_PER_SECOND, N_FREQS


@dataclass(frozen=True)
class Countable:
    """A model as the counter sees it.

    ``step``: a PyTorch module and the inputs of one streaming call (``exact``);
    ``utterance``: an offline PyTorch module and frames -> its inputs (``ptflops-0.7``);
    ``onnx_paths``: graphs each run once per streaming call (``exact``, summed);
    ``steps_per_second``: streaming calls per second of audio (None when unknown).
    """

    name: str
    step: tuple[nn.Module, tuple[Tensor, ...]] | None = None
    utterance: tuple[nn.Module, Callable[[int], tuple[Tensor, ...]]] | None = None
    onnx_paths: tuple[Path, ...] = ()
    steps_per_second: float | None = FRAMES_PER_SECOND  # GTCRN: 62.5

    def supports(self, convention: Convention) -> bool:
        """True when this model can be counted under ``convention``."""
        if convention.runs == "utterance":
            return self.utterance is not None
        return self.step is not None or bool(self.onnx_paths)


def _utterance_inputs(frames: int) -> tuple[Tensor, ...]:
    return (torch.zeros(1, N_FREQS, frames, 2),)


def gtcrn_countable(model: GTCRN | StreamGTCRN, name: str) -> Countable:
    """GTCRN in both forms, whichever form ``model`` is in.

    MACs and parameter counts depend on the architecture only, never on weight
    values, so the missing form is built with the same architecture.
    """
    offline = model if isinstance(model, GTCRN) else GTCRN().eval()
    stream = model if isinstance(model, StreamGTCRN) else to_stream(model)
    step_inputs = (torch.zeros(1, N_FREQS, 1, 2), *zero_caches())
    return Countable(name, step=(stream, step_inputs), utterance=(offline, _utterance_inputs))


def _onnx_paths(runner: Runner) -> list[Path]:
    paths = getattr(runner, "onnx_paths", None)
    return [Path(p) for p in paths()] if callable(paths) else []


def countable_model(runner: Runner) -> Countable | None:
    """How to count ``runner`` (see the module docstring), or None when it holds no countable model."""
    hook = getattr(runner, "countable", None)
    if callable(hook):
        return hook()
    model = getattr(runner, "model", None)
    if isinstance(model, (GTCRN, StreamGTCRN)):
        return gtcrn_countable(model, runner.name)
    paths = _onnx_paths(runner)
    if not paths:
        return None
    rate = runner.sample_rate / runner.hop if isinstance(runner, FrameRunner) else None
    return Countable(runner.name, onnx_paths=tuple(paths), steps_per_second=rate)
