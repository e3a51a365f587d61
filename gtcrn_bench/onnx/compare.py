"""Running GTCRN's forms over the same audio and measuring how far apart their outputs are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from gtcrn_bench import store
from gtcrn_bench.audio import SAMPLE_RATE, read_audio
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import zero_caches
from gtcrn_bench.stft import istft, stft

NOISE_SECONDS = 4.0
NOISE_SEED = 20240414

FrameStep = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Probe:
    """A named test signal: 16 kHz mono float32."""

    name: str
    wave: np.ndarray


def generated_noise(seconds: float = NOISE_SECONDS, seed: int = NOISE_SEED) -> Probe:
    """Seeded Gaussian noise with a slow level sweep (-40 to -10 dBFS), so the model sees quiet and loud frames."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    level = 10 ** (np.linspace(-40.0, -10.0, n) / 20)
    return Probe(f"noise-{seed}", (rng.standard_normal(n) * level).astype(np.float32))


def probe_inputs(paths: list[Path] | None = None) -> list[Probe]:
    """The given audio files; by default the published ``mix.wav`` if the store has it, else generated noise."""
    if paths:
        return [Probe(str(p), read_audio(p)[0]) for p in paths]
    if store.is_available("test-mix"):
        return [Probe("mix.wav", read_audio(store.resolve("test-mix"), quiet=True)[0])]
    return [generated_noise()]


def spectrum(wave: np.ndarray) -> torch.Tensor:
    """(1, 257, T, 2) STFT of a waveform."""
    return stft(torch.from_numpy(wave))


def waveform(spec: torch.Tensor) -> np.ndarray:
    """Inverse STFT: (T - 1) * 256 samples (the input length rounded down to hops, as the published outputs)."""
    return istft(spec)[0].numpy()


@contextmanager
def torch_single_thread() -> Iterator[None]:
    """Run PyTorch on one intra-op thread inside the block (restored after).

    Frame-sized PyTorch ops gain nothing from a second thread, and on a loaded
    machine the thread hand-offs cost more than the ops: the streaming module
    measured 38 ms per frame with 2 threads against 5.5 ms with 1.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_offline(model: GTCRN, spec: torch.Tensor) -> torch.Tensor:
    """The offline model on the whole spectrum."""
    with torch.inference_mode(), torch_single_thread():
        return model(spec)


def run_torch_frames(model: torch.nn.Module, spec: torch.Tensor) -> torch.Tensor:
    """A PyTorch streaming module frame by frame from zero caches -> (1, 257, T, 2)."""
    caches = zero_caches()
    frames = []
    with torch.inference_mode(), torch_single_thread():
        for t in range(spec.shape[2]):
            out, *caches = model(spec[:, :, t : t + 1], *caches)
            frames.append(out)
    return torch.cat(frames, dim=2)


def run_frames(step: FrameStep, spec: torch.Tensor) -> torch.Tensor:
    """A numpy frame step (e.g. an onnxruntime session, reset by the caller) over a spectrum -> (1, 257, T, 2)."""
    frames = np.ascontiguousarray(spec.numpy().transpose(2, 0, 1, 3)[:, :, :, None, :])  # (T, 1, 257, 1, 2)
    return torch.from_numpy(np.concatenate([step(frame).copy() for frame in frames], axis=2))


def first_non_finite_frame(spec: np.ndarray | torch.Tensor) -> int | None:
    """Index of the first frame of a (1, 257, T, 2) spectrum holding NaN or Inf; None when every value is finite."""
    finite = np.isfinite(np.asarray(spec)).all(axis=(0, 1, 3))
    return None if finite.all() else int(np.argmin(finite))


@dataclass(frozen=True)
class ErrorStats:
    """How far ``test`` is from ``reference``: max abs difference and the SNR of the difference (dB)."""

    max_abs: float
    snr_db: float  # inf when identical

    @classmethod
    def between(cls, test: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor) -> ErrorStats:
        test, reference = np.asarray(test, dtype=np.float64), np.asarray(reference, dtype=np.float64)
        if test.shape != reference.shape:
            raise ValueError(f"shapes differ: {test.shape} vs {reference.shape}")
        diff = test - reference
        if not np.all(np.isfinite(diff)):
            return cls(float("inf"), float("-inf"))
        noise, signal = float(np.sum(diff**2)), float(np.sum(reference**2))
        snr = float("inf") if noise == 0 else 10 * np.log10(max(signal, 1e-30) / noise)
        return cls(float(np.max(np.abs(diff))) if diff.size else 0.0, float(snr))

    def to_dict(self) -> dict[str, float | None]:
        """JSON-safe: infinite values become None."""
        return {k: (v if np.isfinite(v) else None) for k, v in asdict(self).items()}
