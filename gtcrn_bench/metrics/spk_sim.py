"""Speaker similarity: cosine similarity of Resemblyzer speaker embeddings of the estimate and the clean reference.

``resemblyzer`` (the GE2E speaker encoder of Wan et al. 2018 as trained by
Resemble AI; weights ``pretrained.pt`` inside the wheel) is called as its
documentation shows: ``preprocess_wav`` (volume normalisation to -30 dBFS and
removal of long silences with the WebRTC VAD) and then
``VoiceEncoder.embed_utterance`` (mean of L2-normed embeddings of 1.6 s
windows). The score is the cosine of the two embeddings: 1 is the same voice;
the embeddings are non-negative, so it does not go below 0 in practice.

Why ``setuptools<81`` is pinned in the ``spk`` extra: resemblyzer needs
``webrtcvad``, whose only release (2.0.10, 2017) reads its own version through
``pkg_resources`` at import, and setuptools 81 removed ``pkg_resources``. The
maintained fork ``webrtcvad-wheels`` does not use it, but it installs the same
module under another distribution name, so resemblyzer's requirement would
still pull the original; pinning setuptools is the one fix that keeps both
packages as published. The deprecation warnings of that import (and of
resemblyzer's ``scipy.ndimage.morphology`` import) are silenced here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, register

_encoder: Any = None


def _resemblyzer() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        warnings.filterwarnings("ignore", message="Please import `binary_dilation`", category=DeprecationWarning)
        import resemblyzer
    return resemblyzer


def encoder() -> Any:
    """This process's speaker encoder on the CPU, weights from the wheel (loaded once)."""
    global _encoder
    if _encoder is None:
        _encoder = _resemblyzer().VoiceEncoder("cpu", verbose=False)
    return _encoder


def embedding(wave: np.ndarray, role: str) -> np.ndarray:
    """The speaker embedding of ``wave`` (16 kHz); MetricError when it is silent or the VAD finds no speech."""
    if not np.any(wave):  # resemblyzer's volume normalisation would divide by zero
        raise MetricError(f"the {role} is silent: no speaker to embed")
    speech = _resemblyzer().preprocess_wav(wave.astype(np.float32), SAMPLE_RATE)
    if speech.size == 0 or not np.any(speech):
        raise MetricError(f"the speaker encoder's VAD found no speech in the {role}")
    return np.asarray(encoder().embed_utterance(speech), dtype=np.float64)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _spk_sim(pair: Pair) -> dict[str, float]:
    estimate = embedding(pair.estimate, "estimate")
    reference = embedding(pair.need_reference(), "reference")
    return {"spk_sim": cosine(estimate, reference)}


register(
    Metric(
        name="spk_sim",
        higher_is_better=True,
        needs_reference=True,
        package="resemblyzer",
        implementation="cosine similarity of Resemblyzer (GE2E) speaker embeddings, weights bundled in the wheel",
        compute=_spk_sim,
        cost_ms_per_s=15.6,
        group="spk_sim",
        sample_rates=(SAMPLE_RATE,),
        modules=("resemblyzer", "webrtcvad", "torch", "librosa"),
        uses=("webrtcvad", "torch"),
        install="pip install 'gtcrn-bench[spk]'",
    )
)
