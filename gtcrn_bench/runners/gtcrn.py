"""GTCRN in PyTorch, run two ways: offline on the whole utterance, and frame by frame.

torch and the model code are imported when a runner is built, so listing runners does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Countable, Runner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.stft import FRAMES_PER_SECOND, N_FFT, N_FREQS, istft, stft
from gtcrn_bench.store import resolve

if TYPE_CHECKING:
    from gtcrn_bench.models.gtcrn import GTCRN
    from gtcrn_bench.models.stream import StreamGTCRN

DEFAULT_CHECKPOINT = "dns3-stream"  # the weights the published ONNX was exported from


def apply_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count when asked (process-wide: torch has no per-module setting)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)


def gtcrn_countable(model: GTCRN | StreamGTCRN, name: str) -> Countable:
    """GTCRN in both forms, whichever form ``model`` is in, for the complexity counter.

    MACs and parameter counts depend on the architecture only, never on weight
    values, so the missing form is built with the same architecture.
    """
    import torch

    from gtcrn_bench.models.gtcrn import GTCRN
    from gtcrn_bench.models.stream import StreamGTCRN, to_stream, zero_caches

    offline = model if isinstance(model, GTCRN) else GTCRN().eval()
    stream = model if isinstance(model, StreamGTCRN) else to_stream(model)
    step_inputs = (torch.zeros(1, N_FREQS, 1, 2), *zero_caches())

    def utterance_inputs(frames: int) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(1, N_FREQS, frames, 2),)

    return Countable(
        name, step=(stream, step_inputs), utterance=(offline, utterance_inputs), steps_per_second=FRAMES_PER_SECOND
    )


@register
class GTCRNOffline(Runner):
    """GTCRN on the whole utterance at once (non-causal STFT padding only at the edges)."""

    name = "gtcrn-offline"
    packages = ("torch",)
    description = "GTCRN, PyTorch, whole utterance in one forward pass"
    thread_param = "threads"
    min_samples = N_FFT // 2 + 1

    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, threads: int | None = None) -> None:
        from gtcrn_bench.models.checkpoint import load_gtcrn

        apply_threads(threads)
        self.checkpoint_sha256 = sha256_file(resolve(checkpoint))
        self.model = load_gtcrn(checkpoint)

    def artefacts(self) -> dict[str, str]:
        return {"checkpoint": self.checkpoint_sha256}

    def countable(self) -> Countable:
        """The loaded model, counted in both forms."""
        return gtcrn_countable(self.model, self.name)

    def process(self, wave: np.ndarray) -> np.ndarray:
        import torch

        wave = self.check_input(wave)
        with torch.inference_mode():
            spec = self.model(stft(torch.from_numpy(wave)))
            return istft(spec, length=wave.size)[0].numpy()


ENGINES = ("fast", "eager")


@register
class GTCRNStream(SpectralFrameRunner):
    """GTCRN converted to its streaming form, one 16 ms frame at a time with the published caches.

    ``engine``: ``fast`` (default) runs :func:`~gtcrn_bench.models.fast_stream.to_fast_stream`, a frozen
    TorchScript graph with lean GRU steps; ``eager`` the plain :class:`~gtcrn_bench.models.stream.StreamGTCRN`
    module, op by op. Both give the same numbers to float32 round-off. Each frame is copied into one
    preallocated input tensor; the cache tensors a call returns are the next call's inputs, never copied.
    """

    name = "gtcrn-stream"
    packages = ("torch",)
    description = "GTCRN, PyTorch streaming module, frame by frame (fast: frozen TorchScript; eager: op by op)"
    thread_param = "threads"

    # one thread by default: per-frame ops are tiny, and a second thread made each frame ~7x slower here
    def __init__(self, checkpoint: str = DEFAULT_CHECKPOINT, threads: int | None = 1, engine: str = "fast") -> None:
        import torch

        from gtcrn_bench.models.checkpoint import load_gtcrn
        from gtcrn_bench.models.fast_stream import to_fast_stream
        from gtcrn_bench.models.stream import to_stream, zero_caches

        super().__init__()
        if engine not in ENGINES:
            raise ConfigError(f"{self.name}: engine '{engine}' is not one of {', '.join(ENGINES)}")
        apply_threads(threads)
        self.checkpoint_sha256 = sha256_file(resolve(checkpoint))
        offline = load_gtcrn(checkpoint)
        self.model = to_fast_stream(offline) if engine == "fast" else to_stream(offline)
        self._zero_caches = zero_caches
        self._inference_mode = torch.inference_mode  # kept: no import statement in the per-frame call
        self._mix = torch.zeros(1, N_FREQS, 1, 2)
        self._mix_np = self._mix.numpy()  # shares the tensor's memory
        self.caches = zero_caches()

    def artefacts(self) -> dict[str, str]:
        return {"checkpoint": self.checkpoint_sha256}

    def reset_state(self) -> None:
        self.caches = self._zero_caches()

    def countable(self) -> Countable:
        """The GTCRN architecture, which both engines compute.

        The fast engine's frozen TorchScript graph cannot be hooked, and MAC counts
        depend on the architecture only, so an unweighted GTCRN stands in for it.
        """
        from gtcrn_bench.models.gtcrn import GTCRN

        return gtcrn_countable(GTCRN(), self.name)

    def step(self, spec: np.ndarray) -> np.ndarray:
        np.copyto(self._mix_np, spec)
        with self._inference_mode():
            out, *caches = self.model(self._mix, *self.caches)
        self.caches = caches
        return out.numpy()
