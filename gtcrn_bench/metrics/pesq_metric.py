"""PESQ through the ``pesq`` package (ITU-T P.862 C reference code wrapped by ludlows/python-pesq).

``pesq_wb`` is the P.862.2 wideband MOS-LQO (16 kHz only), ``pesq_nb`` the
narrowband P.862 score mapped to MOS-LQO by P.862.1 (8 or 16 kHz): what the
package returns for modes ``'wb'`` and ``'nb'``. The package raises on a
reference with no speech and on signals under 0.25 s; those become reasons.
"""

from __future__ import annotations

import math

import numpy as np

from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, register

PESQ_MIN_SECONDS = 0.25  # the P.862 C code refuses shorter buffers

# P.862.1: MOS-LQO = 0.999 + 4 / (1 + exp(-1.4945 * raw + 4.6607)), applied by the
# package to the narrowband score; inverted by `raw_nb` (the package hides the raw score).
_NB_SLOPE, _NB_OFFSET = 1.4945, 4.6607


def pesq_score(pair: Pair, mode: str) -> float:
    """PESQ MOS-LQO of the pair in ``mode`` ('wb' or 'nb'), memoised on the pair; MetricError with a reason."""
    return pair.cached(f"pesq_{mode}", lambda: _call_pesq(pair, mode))


def _call_pesq(pair: Pair, mode: str) -> float:
    from pesq import BufferTooShortError, NoUtterancesError, pesq

    if not np.any(pair.estimate):
        raise MetricError("the estimate is silent: PESQ cannot level-align it")
    try:
        return float(pesq(pair.sample_rate, pair.need_reference(), pair.estimate, mode))
    except BufferTooShortError as exc:
        seconds = pair.estimate.size / pair.sample_rate
        raise MetricError(f"{seconds:.3f} s is shorter than PESQ's minimum of {PESQ_MIN_SECONDS} s") from exc
    except NoUtterancesError as exc:
        raise MetricError("PESQ found no speech in the reference (silent or too quiet)") from exc


def raw_nb(mos_lqo: float) -> float:
    """The raw P.862 score behind a P.862.1 narrowband MOS-LQO (the inverse of the mapping)."""
    return (_NB_OFFSET - math.log(4.0 / (mos_lqo - 0.999) - 1.0)) / _NB_SLOPE


def _wb(pair: Pair) -> dict[str, float]:
    return {"pesq_wb": pesq_score(pair, "wb")}


def _nb(pair: Pair) -> dict[str, float]:
    return {"pesq_nb": pesq_score(pair, "nb")}


register(
    Metric(
        name="pesq_wb",
        higher_is_better=True,
        needs_reference=True,
        package="pesq",
        implementation="ITU-T P.862.2 wideband PESQ, MOS-LQO",
        compute=_wb,
        cost_ms_per_s=7.5,
        group="pesq_wb",
        unit="MOS-LQO",
        sample_rates=(16000,),
        modules=("pesq",),
    )
)
register(
    Metric(
        name="pesq_nb",
        higher_is_better=True,
        needs_reference=True,
        package="pesq",
        implementation="ITU-T P.862 narrowband PESQ mapped to MOS-LQO by P.862.1",
        compute=_nb,
        cost_ms_per_s=9.5,
        group="pesq_nb",
        unit="MOS-LQO",
        sample_rates=(8000, 16000),
        modules=("pesq",),
    )
)
