"""Scale-invariant SDR (Le Roux et al. 2019, "SDR - half-baked or well done?"), own code.

Both signals are made zero-mean, the reference is scaled to its least-squares
projection on the estimate's line, and SI-SDR = 10 log10(|target|^2 / |residual|^2)
in float64. Written here because it is three lines of numpy: no package is needed.
An estimate equal to a scaled reference has no residual and scores +inf.
"""

from __future__ import annotations

import math

import numpy as np

from gtcrn_bench.metrics.registry import OWN_DISTRIBUTION, Metric, MetricError, Pair, register


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Zero-mean SI-SDR in dB of ``estimate`` against ``reference`` (same length)."""
    est = estimate.astype(np.float64) - np.mean(estimate, dtype=np.float64)
    ref = reference.astype(np.float64) - np.mean(reference, dtype=np.float64)
    ref_energy = np.dot(ref, ref)
    if ref_energy == 0.0:
        raise MetricError("the reference is constant: SI-SDR is undefined")
    target = (np.dot(est, ref) / ref_energy) * ref
    residual = est - target
    target_energy, residual_energy = np.dot(target, target), np.dot(residual, residual)
    if target_energy == 0.0:
        raise MetricError("the estimate is silent or orthogonal to the reference: SI-SDR is -inf")
    if residual_energy == 0.0:
        return math.inf
    return float(10.0 * np.log10(target_energy / residual_energy))


def _si_sdr(pair: Pair) -> dict[str, float]:
    return {"si_sdr": si_sdr(pair.estimate, pair.need_reference())}


register(
    Metric(
        name="si_sdr",
        higher_is_better=True,
        needs_reference=True,
        package=OWN_DISTRIBUTION,
        implementation="zero-mean scale-invariant SDR (Le Roux et al. 2019), own code",
        compute=_si_sdr,
        cost_ms_per_s=0.09,
        group="si_sdr",
        unit="dB",
    )
)
