"""Example for docs/contributing.md, "Add a runner": a streaming DC-blocking high-pass filter.

The tests import this file and run it (tests/test_docs_examples.py), so the guide's code is code that works.
A package would register it with an entry point in its pyproject.toml:

    [project.entry-points."gtcrn_bench.runners"]
    highpass = "my_package.my_highpass:HighPass"
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from gtcrn_bench.runners.base import FrameRunner


class HighPass(FrameRunner):
    """y[n] = x[n] - x[n-1] + r * y[n-1]: removes DC and rumble below ``cutoff_hz``, one 10 ms hop at a time."""

    name = "highpass"
    description = "first-order DC-blocking high-pass filter (example runner)"
    packages = ("scipy",)  # distributions whose code computes the output: their versions join the cache key
    hop = 160  # 10 ms at 16 kHz

    def __init__(self, cutoff_hz: float = 60.0) -> None:
        self.r = float(np.exp(-2 * np.pi * cutoff_hz / self.sample_rate))
        self.b, self.a = np.array([1.0, -1.0]), np.array([1.0, -self.r])
        self.reset()

    def reset(self) -> None:
        self.state = np.zeros(1)  # lfilter's delay line: the whole memory of the filter

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        out, self.state = lfilter(self.b, self.a, hop, zi=self.state)
        return out.astype(np.float32)

    def flush(self, tail: np.ndarray) -> np.ndarray:
        return self.process_hop(tail)  # no look-ahead: the last partial hop is all that is left
