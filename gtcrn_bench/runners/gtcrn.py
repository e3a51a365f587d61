"""GTCRN in PyTorch, run two ways: offline on the whole utterance, and frame by frame."""

from __future__ import annotations

import numpy as np
import torch

from gtcrn_bench.download import sha256_file
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.stft import N_FFT, istft, stft
from gtcrn_bench.store import resolve

DEFAULT_CHECKPOINT = "dns3-stream"  # the weights the published ONNX was exported from


def apply_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count when asked (process-wide: torch has no per-module setting)."""
    if threads is not None:
        torch.set_num_threads(threads)


@register
class GTCRNOffline(Runner):
    """GTCRN on the whole utterance at once (non-causal STFT padding only at the edges)."""

    name = "gtcrn-offline"
    description = "GTCRN, PyTorch, whole utterance in one forward pass"
    min_samples = N_FFT // 2 + 1

    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, threads: int | None = None) -> None:
        apply_threads(threads)
        self.checkpoint_sha256 = sha256_file(resolve(checkpoint))
        self.model = load_gtcrn(checkpoint)

    def artefacts(self) -> dict[str, str]:
        return {"checkpoint": self.checkpoint_sha256}

    def process(self, wave: np.ndarray) -> np.ndarray:
        wave = self.check_input(wave)
        with torch.inference_mode():
            spec = self.model(stft(torch.from_numpy(wave)))
            return istft(spec, length=wave.size)[0].numpy()


@register
class GTCRNStream(SpectralFrameRunner):
    """GTCRN converted to its streaming form, one 16 ms frame at a time with the published caches."""

    name = "gtcrn-stream"
    description = "GTCRN, PyTorch streaming module, frame by frame"

    # one thread by default: per-frame ops are tiny, and a second thread made each frame ~7x slower here
    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, threads: int | None = 1) -> None:
        super().__init__()
        apply_threads(threads)
        self.checkpoint_sha256 = sha256_file(resolve(checkpoint))
        self.model = to_stream(load_gtcrn(checkpoint))
        self.caches = zero_caches()

    def artefacts(self) -> dict[str, str]:
        return {"checkpoint": self.checkpoint_sha256}

    def reset_state(self) -> None:
        self.caches = zero_caches()

    def step(self, spec: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out, *caches = self.model(torch.from_numpy(spec), *self.caches)
        self.caches = caches
        return out.numpy()
