"""STOI and extended STOI through ``pystoi`` (Taal et al. 2011; Jensen & Taal 2016).

pystoi resamples to 10 kHz, drops frames more than 40 dB below the loudest
reference frame, and needs at least 30 of its 25.6 ms frames of speech left;
with fewer it warns and returns 1e-5, which is turned into a reason here
instead of a score.
"""

from __future__ import annotations

import warnings

from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, register

_TOO_SHORT_WARNING = "Not enough STFT frames"


def stoi_score(pair: Pair, extended: bool) -> float:
    """pystoi's (E)STOI of the pair; MetricError when the reference has too little speech."""
    from pystoi import stoi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = stoi(pair.need_reference(), pair.estimate, pair.sample_rate, extended=extended)
    if any(_TOO_SHORT_WARNING in str(w.message) for w in caught):
        raise MetricError("too little speech for STOI: fewer than 30 non-silent 25.6 ms frames (about 0.4 s)")
    return float(value)


def _stoi(pair: Pair) -> dict[str, float]:
    return {"stoi": stoi_score(pair, extended=False)}


def _estoi(pair: Pair) -> dict[str, float]:
    return {"estoi": stoi_score(pair, extended=True)}


register(
    Metric(
        name="stoi",
        higher_is_better=True,
        needs_reference=True,
        package="pystoi",
        implementation="short-time objective intelligibility (Taal et al. 2011)",
        compute=_stoi,
        cost_ms_per_s=3.4,
        group="stoi",
        modules=("pystoi",),
    )
)
register(
    Metric(
        name="estoi",
        higher_is_better=True,
        needs_reference=True,
        package="pystoi",
        implementation="extended STOI (Jensen & Taal 2016)",
        compute=_estoi,
        cost_ms_per_s=6.8,
        group="estoi",
        modules=("pystoi",),
    )
)
