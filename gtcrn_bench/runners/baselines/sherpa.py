"""The published GTCRN ONNX inside sherpa-onnx's C++ runtime (its streaming speech denoiser).

sherpa-onnx reads the STFT settings and cache shapes from the ONNX file's
metadata, which the published ``gtcrn_simple.onnx`` does not carry. The runner
writes a copy with that metadata added into the store (never next to the
source), named by the source's sha256 so a different source never reuses it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.download import sha256_file
from gtcrn_bench.files import atomic_path
from gtcrn_bench.runners.base import Countable, FrameRunner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.stft import HOP, N_FFT
from gtcrn_bench.store import home, resolve

#: what sherpa-onnx's GTCRN model loader reads (offline-speech-denoiser-gtcrn-model.cc); shapes as "a,b,c"
SHERPA_METADATA: dict[str, str] = {
    "model_type": "gtcrn",
    "version": "1",
    "sample_rate": str(SAMPLE_RATE),
    "n_fft": str(N_FFT),
    "hop_length": str(HOP),
    "window_length": str(N_FFT),
    "window_type": "hann_sqrt",
    "conv_cache_shape": "2,1,16,16,33",
    "tra_cache_shape": "2,3,1,1,16",
    "inter_cache_shape": "2,1,33,16",
}


def sherpa_model(source: Path) -> Path:
    """The store's copy of ``source`` with sherpa-onnx's metadata added (written on first use)."""
    import onnx

    source_sha256 = sha256_file(source)
    dest = home() / "models" / "sherpa-gtcrn" / f"{source.stem}-{source_sha256[:16]}.sherpa.onnx"
    if dest.is_file():
        return dest
    model = onnx.load(str(source))
    existing = {p.key for p in model.metadata_props}
    for key, value in {**SHERPA_METADATA, "source_sha256": source_sha256}.items():
        if key not in existing:
            model.metadata_props.add(key=key, value=value)
    with atomic_path(dest) as tmp:
        onnx.save(model, str(tmp))
    return dest


@register
class SherpaGTCRN(FrameRunner):
    """GTCRN in a deployment runtime: sherpa-onnx's ``OnlineSpeechDenoiser``, fed one 16 ms hop per call.

    sherpa-onnx holds the first hop back until a whole 512-sample frame is in
    and returns the stream aligned with its input (measured: no lag), so
    ``frame_delay`` and ``delay`` are 0.
    """

    name = "sherpa-gtcrn"
    packages = ("sherpa-onnx",)
    description = "published GTCRN ONNX in sherpa-onnx's C++ streaming denoiser (metadata added)"
    hop = HOP
    thread_param = "threads"

    def __init__(self, model: str = "published-onnx", threads: int = 1) -> None:
        import sherpa_onnx

        self.threads = threads
        self._source = resolve(model)
        self._model = sherpa_model(self._source)
        gtcrn = sherpa_onnx.OfflineSpeechDenoiserGtcrnModelConfig(model=str(self._model))
        config = sherpa_onnx.OfflineSpeechDenoiserModelConfig(gtcrn=gtcrn, num_threads=threads)
        self.denoiser = sherpa_onnx.OnlineSpeechDenoiser(sherpa_onnx.OnlineSpeechDenoiserConfig(model=config))

    def countable(self) -> Countable:
        """The published ONNX graph sherpa-onnx runs once per hop (metadata aside), published claim beside it."""
        return Countable(
            self.name,
            onnx_paths=(self._source,),
            steps_per_second=self.hops_per_second,
            published=self.published_figure(),
        )

    def thread_settings(self) -> dict[str, Any]:
        """sherpa-onnx does not report its sessions' options: the count it was configured with."""
        return {"sherpa-onnx (configured)": {"intra_op": self.threads}}

    def artefacts(self) -> dict[str, str]:
        return {"onnx": sha256_file(self._source), "sherpa_onnx": sha256_file(self._model)}

    def reset(self) -> None:
        self.denoiser.reset()

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        return np.asarray(self.denoiser.run(hop, SAMPLE_RATE).samples, dtype=np.float32)

    def flush(self, tail: np.ndarray) -> np.ndarray:
        head = self.process_hop(tail) if tail.size else np.zeros(0, np.float32)
        return np.concatenate([head, np.asarray(self.denoiser.flush().samples, dtype=np.float32)])
