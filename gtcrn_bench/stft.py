"""The STFT convention of GTCRN: 512-point periodic sqrt-Hann window, hop 256, ``center=True``.

Spectra are real tensors (B, 257, T, 2) with (real, imag) on the last axis, the
layout the model and the published ONNX graph use.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from gtcrn_bench.audio import SAMPLE_RATE

if TYPE_CHECKING:  # torch is imported when a transform runs: the constants load without it
    from torch import Tensor

N_FFT = 512
HOP = 256
N_FREQS = N_FFT // 2 + 1
FRAMES_PER_SECOND = SAMPLE_RATE / HOP  # 62.5: one frame every 16 ms


@functools.cache
def window() -> Tensor:
    """sqrt of the periodic Hann window of length 512 (cached; do not modify in place)."""
    import torch

    return torch.hann_window(N_FFT, periodic=True).pow(0.5)


def stft(wave: Tensor) -> Tensor:
    """(N,) or (B, N) waveform -> (B, 257, T, 2) spectrum with T = 1 + N // 256."""
    import torch

    if wave.dim() == 1:
        wave = wave.unsqueeze(0)
    spec = torch.stft(wave, N_FFT, HOP, N_FFT, window=window(), center=True, return_complex=True)
    return torch.view_as_real(spec)


def istft(spec: Tensor, length: int | None = None) -> Tensor:
    """(B, 257, T, 2) spectrum -> (B, N) waveform; ``length`` trims or extends to N samples."""
    import torch

    return torch.istft(
        torch.view_as_complex(spec.contiguous()), N_FFT, HOP, N_FFT, window=window(), center=True, length=length
    )
