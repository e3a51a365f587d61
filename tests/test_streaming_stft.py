"""The hop-by-hop STFT reproduces torch.stft/istft (center=True) at every length, edges included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.stft import istft, stft, window


class IdentityRunner(SpectralFrameRunner):
    """Passes spectra through and records them, to compare with the offline STFT."""

    name = "identity-test"

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[np.ndarray] = []

    def reset_state(self) -> None:
        self.frames = []

    def step(self, spec: np.ndarray) -> np.ndarray:
        self.frames.append(spec.copy())
        return spec


@pytest.mark.parametrize("length", [257, 300, 511, 512, 513, 767, 768, 4000, 16000])
def test_streaming_stft_matches_torch(length: int) -> None:
    x = np.random.default_rng(length).normal(0, 0.1, length).astype(np.float32)
    runner = IdentityRunner()
    y = runner.process(x)
    offline_spec = stft(torch.from_numpy(x)).numpy()
    frames = np.concatenate(runner.frames, axis=2)
    assert frames.shape == offline_spec.shape
    # float32 FFTs of 512 points: round-off of a few 1e-7 relative to values of order 1.
    assert np.abs(frames - offline_spec).max() <= 1e-5
    offline_wave = istft(torch.from_numpy(offline_spec), length=length)[0].numpy()
    # The last hop's samples are divided by the last frame's small window envelope (down to ~1e-4),
    # which magnifies float32 round-off in both paths (seen: 1.02e-6 on the last sample at length 511),
    # so the interior is held to 1e-6 and the last hop, like perfect reconstruction, to 1e-5.
    assert np.abs(y - offline_wave)[:-256].max(initial=0.0) <= 1e-6
    assert np.abs(y - offline_wave).max() <= 1e-5
    assert np.abs(y - x).max() <= 1e-5


def test_too_short_input_is_refused() -> None:
    from gtcrn_bench.errors import InputError

    with pytest.raises(InputError, match="shorter than the 257"):
        IdentityRunner().process(np.zeros(200, np.float32))


def test_stft_follows_the_specification() -> None:
    """Periodic sqrt-Hann, 512-point frames every 256 samples, center=True: 63 frames for one second."""
    assert torch.equal(window(), torch.hann_window(512, periodic=True).sqrt())
    x = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32))
    spec = stft(x)
    assert spec.shape == (1, 257, 63, 2)
    # center=True: frame t is centred on sample 256 t of the reflect-padded signal
    padded = torch.nn.functional.pad(x[None, None], (256, 256), mode="reflect")[0, 0]
    frame = torch.fft.rfft(padded[256 * 5 : 256 * 5 + 512] * window())
    assert torch.allclose(torch.view_as_complex(spec[0, :, 5].contiguous()), frame, atol=1e-5)
