"""Aligning an estimate with its clean reference before scoring.

The rule: drop the runner's declared ``delay`` samples from the start of the
estimate (its output lags the input by that much), then trim both signals to
their common length. Runners return as many samples as they were given, so
after compensation the estimate is ``delay`` samples short and the reference's
last ``delay`` samples are not scored.
"""

from __future__ import annotations

import numpy as np


def align(estimate: np.ndarray, reference: np.ndarray, delay: int) -> tuple[np.ndarray, np.ndarray]:
    """(estimate, reference) with the delay compensated and both cut to the same length."""
    if delay < 0:
        raise ValueError(f"delay must be >= 0, got {delay}")
    estimate = estimate[delay:]
    n = min(estimate.size, reference.size)
    return estimate[:n], reference[:n]
