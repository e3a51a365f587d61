"""GTCRN as a streaming ONNX graph in onnxruntime, frame by frame, the way it is deployed.

onnxruntime, onnx and torch (for the export) are imported when the runner is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Countable
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.store import resolve


@register
class GTCRNOnnx(SpectralFrameRunner):
    """Any ONNX graph with the published streaming interface (the project's export, the published one, a path)."""

    name = "gtcrn-onnx"
    description = "GTCRN streaming ONNX graph in onnxruntime, frame by frame (published or exported)"
    packages = ("onnxruntime",)
    aliases: ClassVar[Mapping[str, Mapping[str, Any]]] = {"published-onnx": {"model": "published-onnx"}}
    thread_param = "intra_threads"
    speed_params = frozenset({"inter_threads"})

    def __init__(
        self,
        model: str | None = None,
        checkpoint: str | None = None,
        intra_threads: int = 1,
        inter_threads: int = 1,
        optimization: str = "all",
    ) -> None:
        """``model``: an ONNX alias or path (default ``published-onnx``); or ``checkpoint``: a checkpoint alias
        or path whose project export is built once and cached in the store. Not both."""
        from gtcrn_bench.onnx.export import cached_export
        from gtcrn_bench.onnx.session import FrameSession

        super().__init__()
        if model is not None and checkpoint is not None:
            raise ConfigError(f"{self.name}: give either model (an ONNX graph) or checkpoint (to export), not both")
        path = cached_export(checkpoint) if checkpoint is not None else resolve(model or "published-onnx")
        self.model_sha256 = sha256_file(path)
        self.session = FrameSession(
            path, intra_threads=intra_threads, inter_threads=inter_threads, optimization=optimization
        )

    def artefacts(self) -> dict[str, str]:
        return {"onnx": self.model_sha256}

    def countable(self) -> Countable:
        """The graph run once per frame."""
        return Countable(self.name, onnx_paths=(Path(self.session.path),), steps_per_second=self.hops_per_second)

    def thread_settings(self) -> dict[str, Any]:
        from gtcrn_bench.onnxrt import session_threads

        return {"onnxruntime session": session_threads(self.session.session)}

    def reset_state(self) -> None:
        self.session.reset()

    def step(self, spec: np.ndarray) -> np.ndarray:
        return self.session.step(spec)

    def process(self, wave: np.ndarray) -> np.ndarray:
        """Enhance frame by frame; NaN or Inf in the output raises :class:`NonFiniteOutputError` naming the frame.

        The loop itself is not slowed by checks: the finished output is checked
        once, and only if it is not finite are the frames replayed to find where
        the first non-finite value appeared (the graph is deterministic).
        """
        out = super().process(wave)
        if not np.all(np.isfinite(out)):
            self._raise_first_non_finite(wave)
        return out

    def _raise_first_non_finite(self, wave: np.ndarray) -> None:
        from gtcrn_bench.onnx.compare import spectrum
        from gtcrn_bench.onnx.session import NonFiniteOutputError

        self.session.reset()
        frames = spectrum(self.check_input(wave)).numpy()
        what = f"{self.name} ({self.session.path.name})"
        for t in range(frames.shape[2]):
            self.session.step(np.ascontiguousarray(frames[:, :, t : t + 1]))
            bad = self.session.non_finite_outputs()
            if bad:
                raise NonFiniteOutputError.first_in(what, t, bad)
        raise NonFiniteOutputError(
            f"{what}: the output waveform is not finite, though no frame of the graph's outputs was",
            frame=-1,
            tensor="waveform",
        )
