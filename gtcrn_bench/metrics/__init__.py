"""Quality metrics: a registry of named metrics and one call that scores an utterance with any of them.

>>> from gtcrn_bench import metrics
>>> result = metrics.compute(["pesq_wb", "stoi", "dnsmos_ovrl"], estimate, reference)
>>> result.values, result.errors, metrics.provenance(["pesq_wb"])

See :mod:`gtcrn_bench.metrics.compute` for what counts as bad input.
"""

from gtcrn_bench.metrics.compute import LENGTH_TOLERANCE_S, MetricResults, compute
from gtcrn_bench.metrics.files import score_files
from gtcrn_bench.metrics.registry import (
    Metric,
    MetricError,
    Pair,
    available,
    cost_ms_per_s,
    get,
    load_builtins,
    names,
    provenance,
    register,
    require,
    resolve_set,
    set_names,
    unavailable,
)

__all__ = [
    "LENGTH_TOLERANCE_S",
    "Metric",
    "MetricError",
    "MetricResults",
    "Pair",
    "available",
    "compute",
    "cost_ms_per_s",
    "get",
    "names",
    "provenance",
    "register",
    "require",
    "resolve_set",
    "score_files",
    "set_names",
    "unavailable",
]

load_builtins()  # here, so registration order does not depend on which metric module is imported first
