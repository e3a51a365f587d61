"""This machine's single-core multiply-accumulate peak, and the time GTCRN's exact MAC count would take at it.

Measured as the best of several single-threaded float32 matrix products
(numpy's BLAS sgemm, limited to one thread by threadpoolctl): a large sgemm
is the closest a library call comes to the core's FMA throughput, so the
time at this rate is a floor no runtime can beat on one core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

MACS_PER_FRAME = 445_310  # GTCRN's exact MAC count per 16 ms frame (gtcrn-bench complexity, "exact")
SIZE = 384  # matrix side: fits the caches of any current core, ~57 M MACs per product
REPEATS = 15


@dataclass(frozen=True)
class Peak:
    """Measured single-core MACs per second and the time one GTCRN frame's MACs take at that rate."""

    macs_per_s: float
    matrix: int

    @property
    def frame_ms(self) -> float:
        return 1000.0 * MACS_PER_FRAME / self.macs_per_s

    def to_dict(self) -> dict[str, float]:
        return {"macs_per_s": self.macs_per_s, "matrix": self.matrix, "frame_ms_at_peak": self.frame_ms}


def measure_peak(size: int = SIZE, repeats: int = REPEATS) -> Peak:
    """Best single-thread sgemm rate over ``repeats`` products of ``size`` x ``size`` float32 matrices."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    best = float("inf")
    with threadpool_limits(limits=1):
        np.matmul(a, b, out=out)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter_ns()
            np.matmul(a, b, out=out)
            best = min(best, (time.perf_counter_ns() - start) / 1e9)
    return Peak(size**3 / best, size)
