"""Distill-MOS (Stahl and Gamper, 2025): a no-reference MOS predictor distilled from an XLS-R quality model.

The network and its weights ship in the ``distillmos`` wheel (``distillmos.sqa.
ConvTransformerSQAModel``, weights ``distill_mos_v7.pt``), so nothing is downloaded.
Scores are the model's own output (1-5), computed on the 16 kHz estimate as a
(1, samples) float tensor, exactly as the package's file helper does after loading.

Why the import is special: ``distillmos/sqa.py`` imports ``torchaudio`` at module
level, but only its file helper (``_infer_file_list``: ``torchaudio.load`` and
resampling) uses it. torchaudio has no build for the torch pinned here (2.13), and
installing it would replace torch. So when torchaudio is absent, :func:`model_class`
imports ``distillmos.sqa`` with a placeholder ``torchaudio`` module that raises on
any use, removed again right after the import: the model code runs unchanged and the
file helper, which this project never calls, fails loudly if anything did.
For the same reason ``distillmos`` and ``xls-r-sqa`` (both declare torchaudio) are
installed with ``pip install --no-deps`` (see ``docs/metrics-extra.md``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import types
from collections.abc import Iterator
from typing import Any

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, register

INSTALL = "pip install 'gtcrn-bench[distillmos]' && pip install --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0"
MIN_SECONDS = 0.25  # below this the model sees mostly padding (it pads every input to 7.68 s)

_model: Any = None


class _NoTorchaudio(types.ModuleType):
    """Stands in for torchaudio while ``distillmos.sqa`` is imported; any use is an error."""

    def __getattr__(self, name: str) -> Any:
        raise ImportError(
            f"torchaudio.{name} was used, but torchaudio is not installed: gtcrn-bench calls only the "
            "Distill-MOS network, never its file-loading helper"
        )


@contextlib.contextmanager
def _without_torchaudio() -> Iterator[None]:
    """A placeholder ``torchaudio`` in ``sys.modules`` for the duration of one import, when torchaudio is absent."""
    if importlib.util.find_spec("torchaudio") is not None:
        yield
        return
    sys.modules["torchaudio"] = _NoTorchaudio("torchaudio")
    try:
        yield
    finally:
        del sys.modules["torchaudio"]


def model_class() -> type:
    """``distillmos.sqa.ConvTransformerSQAModel``, imported without needing torchaudio."""
    with _without_torchaudio():
        from distillmos.sqa import ConvTransformerSQAModel
    return ConvTransformerSQAModel


def model() -> Any:
    """This process's Distill-MOS network in eval mode, weights from the wheel (loaded once)."""
    global _model
    if _model is None:
        with contextlib.redirect_stdout(io.StringIO()):  # the constructor prints where it loaded weights from
            made = model_class()()
        _model = made.eval()
    return _model


def _distill_mos(pair: Pair) -> dict[str, float]:
    import torch

    if pair.estimate.size < MIN_SECONDS * pair.sample_rate:
        raise MetricError(f"shorter than the {MIN_SECONDS} s Distill-MOS needs")
    with torch.inference_mode():
        score = model()(torch.from_numpy(pair.estimate.astype("float32"))[None, :])
    return {"distill_mos": float(score.item())}


register(
    Metric(
        name="distill_mos",
        higher_is_better=True,
        needs_reference=False,
        package="distillmos",
        implementation="Distill-MOS v7 (ConvTransformerSQAModel), weights bundled in the wheel",
        compute=_distill_mos,
        cost_ms_per_s=92.6,
        group="distill_mos",
        unit="MOS",
        sample_rates=(SAMPLE_RATE,),
        modules=("distillmos", "xls_r_sqa", "torch"),
        uses=("xls-r-sqa", "torch"),
        install=INSTALL,
    )
)
