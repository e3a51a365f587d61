"""ERB band merging of GTCRN: the fixed triangular filterbank and its module.

The first 65 STFT bins pass through; bins 65..256 are merged into 64 ERB bands
by a bias-free linear layer whose weight is built here from the ERB formula
(the checkpoints store the same matrix as a frozen parameter).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from gtcrn_bench.audio import SAMPLE_RATE

N_LOW_BINS = 65
N_ERB_BANDS = 64
N_FREQS = 257
N_FFT = 512


def hz_to_erb(freq_hz: np.ndarray | float) -> np.ndarray:
    """ERB-rate scale: erb(f) = 21.4 log10(1 + 0.00437 f)."""
    return 21.4 * np.log10(0.00437 * np.asarray(freq_hz, dtype=np.float64) + 1.0)


def erb_to_hz(erb: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_erb`."""
    return (10 ** (np.asarray(erb, dtype=np.float64) / 21.4) - 1.0) / 0.00437


def erb_band_edges() -> np.ndarray:
    """The 64 FFT bins at which the triangular ERB filters peak."""
    low_hz = N_LOW_BINS / N_FFT * SAMPLE_RATE
    high_hz = SAMPLE_RATE / 2
    points = np.linspace(hz_to_erb(low_hz), hz_to_erb(high_hz), N_ERB_BANDS)
    return np.round(erb_to_hz(points) / SAMPLE_RATE * N_FFT).astype(np.int64)


def erb_filter_matrix() -> np.ndarray:
    """The (64, 257) triangular filterbank, built in float32.

    float32 accumulation is deliberate: the last row (1 minus the previous row)
    is then bit-identical to the published checkpoints.
    """
    bins = erb_band_edges()
    eps = 1e-12
    weights = np.zeros((N_ERB_BANDS, N_FREQS), dtype=np.float32)
    k = np.arange(bins[0], bins[1])
    weights[0, bins[0] : bins[1]] = (bins[1] - k + eps) / (bins[1] - bins[0] + eps)
    for i in range(1, N_ERB_BANDS - 1):
        rise = np.arange(bins[i - 1], bins[i])
        weights[i, bins[i - 1] : bins[i]] = (rise - bins[i - 1] + eps) / (bins[i] - bins[i - 1] + eps)
        fall = np.arange(bins[i], bins[i + 1])
        weights[i, bins[i] : bins[i + 1]] = (bins[i + 1] - fall + eps) / (bins[i + 1] - bins[i] + eps)
    last = slice(bins[-2], bins[-1] + 1)
    weights[-1, last] = 1 - weights[-2, last]
    return weights


class ERB(nn.Module):
    """Merges 257 bins into 129 bands (``bm``) and splits them back (``bs``)."""

    def __init__(self) -> None:
        super().__init__()
        n_high = N_FREQS - N_LOW_BINS
        matrix = torch.from_numpy(erb_filter_matrix()[:, N_LOW_BINS:].copy())
        self.erb_fc = nn.Linear(n_high, N_ERB_BANDS, bias=False)
        self.ierb_fc = nn.Linear(N_ERB_BANDS, n_high, bias=False)
        self.erb_fc.weight = nn.Parameter(matrix, requires_grad=False)
        self.ierb_fc.weight = nn.Parameter(matrix.T.contiguous(), requires_grad=False)

    def bm(self, x: Tensor) -> Tensor:
        """(..., 257) bins -> (..., 129) bands."""
        return torch.cat([x[..., :N_LOW_BINS], self.erb_fc(x[..., N_LOW_BINS:])], dim=-1)

    def bs(self, x: Tensor) -> Tensor:
        """(..., 129) bands -> (..., 257) bins."""
        return torch.cat([x[..., :N_LOW_BINS], self.ierb_fc(x[..., N_LOW_BINS:])], dim=-1)
