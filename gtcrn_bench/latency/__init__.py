"""Per-frame latency of runners: what is timed, how, thread settings, and side-by-side comparisons.

- :func:`measure_runner` / :func:`measure_many`: statistics and RTF of the model call and the whole frame step;
- :func:`compare_runners`: runners interleaved, each one's ratio of means to a reference with a block-bootstrap CI;
- :func:`suite_latency`: the suite's latency section (all runners interleaved in one run).
"""

from gtcrn_bench.latency.compare import Comparison, RatioCI, Ratios, compare_runners, ratio_of_means
from gtcrn_bench.latency.measure import LatencyResult, measure_many, measure_runner, suite_latency

__all__ = [
    "Comparison",
    "LatencyResult",
    "RatioCI",
    "Ratios",
    "compare_runners",
    "measure_many",
    "measure_runner",
    "ratio_of_means",
    "suite_latency",
]
