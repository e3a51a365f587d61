"""Example for docs/contributing.md, "Add a metric": plain signal-to-noise ratio against the clean reference.

A package would register it with an entry point naming the Metric (or a list of Metrics sharing one group):

    [project.entry-points."gtcrn_bench.metrics"]
    snr = "my_package.my_snr:SNR"
"""

from __future__ import annotations

import numpy as np

from gtcrn_bench.metrics.registry import Metric, MetricError, Pair


def snr(pair: Pair) -> dict[str, float]:
    """10 log10(|reference|^2 / |estimate - reference|^2), in dB; no scale-invariance (unlike SI-SDR)."""
    reference = pair.need_reference().astype(np.float64)
    error = pair.estimate.astype(np.float64) - reference
    signal, noise = float(np.sum(reference**2)), float(np.sum(error**2))
    if signal == 0.0:
        raise MetricError("the reference is silent")
    if noise == 0.0:
        raise MetricError("the estimate equals the reference: SNR is infinite")
    return {"snr": 10.0 * np.log10(signal / noise)}


SNR = Metric(
    name="snr",
    higher_is_better=True,
    needs_reference=True,
    package="numpy",  # the distribution whose code computes the value (its version goes into metadata.json)
    implementation="example: 10 log10 of reference over error energy",
    compute=snr,
    group="snr",
    unit="dB",
)
