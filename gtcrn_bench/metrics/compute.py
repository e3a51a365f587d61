"""Scoring one utterance: check the signals, compute each metric group once, never raise for bad audio.

Rules (each failure leaves the metric empty with a reason, the run goes on):

- The estimate must be 1-D, non-empty, finite and within [-1, 1]. Audio beyond
  full scale would clip when written to a file, and DNSMOS refuses it, so a
  clipped estimate leaves *every* metric of the row empty rather than scoring
  some metrics on audio no file could hold (which would also make the per-metric
  means of that runner cover different utterances).
- Reference metrics need a reference that is 1-D, finite and not silent (peak
  below one 16-bit step, 2**-15). Estimate and reference may differ in length by
  at most ``LENGTH_TOLERANCE_S`` (32 ms, one 512-sample STFT frame at 16 kHz: the
  most a frame-based runner legitimately adds or drops); both are then cut to
  the shorter. A larger difference means a wrong pairing or a different sample
  rate and is an error.
- No-reference metrics (DNSMOS) score the whole estimate, uncut.
- A metric's own failure (PESQ's minimum length, too little speech for STOI,
  ...) is a :class:`MetricError` with its reason; any other exception from a
  metric package is recorded as ``TypeName: message``.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from gtcrn_bench.metrics.registry import Metric, MetricError, Pair, get

LENGTH_TOLERANCE_S = 0.032
SILENCE_PEAK = 2.0**-15


@dataclass
class MetricResults:
    """Per requested metric: its value (None when it could not be computed) and, if so, why."""

    values: dict[str, float | None]
    errors: dict[str, str] = field(default_factory=dict)
    #: CPU seconds of this process spent in each group's computation (what a metric set costs)
    cpu_s: dict[str, float] = field(default_factory=dict)

    def fail(self, names: list[str], reason: str) -> None:
        for name in names:
            self.values[name] = None
            self.errors[name] = reason

    def error_summary(self) -> str:
        """One line for a row's ``error`` column: metrics grouped by their common reason."""
        by_reason: dict[str, list[str]] = defaultdict(list)
        for name, reason in self.errors.items():
            by_reason[reason].append(name)
        return "; ".join(f"{', '.join(group)}: {reason}" for reason, group in by_reason.items())


def signal_problem(wave: np.ndarray | None, role: str) -> str | None:
    """Why ``wave`` cannot be scored at all (not 1-D, empty, NaN/Inf), or None."""
    if wave is None:
        return f"no {role} given"
    if wave.ndim != 1:
        return f"the {role} must be 1-D mono audio, got shape {wave.shape}"
    if wave.size == 0:
        return f"the {role} is empty"
    bad = np.flatnonzero(~np.isfinite(wave))
    if bad.size:
        return f"the {role} has {bad.size} NaN/Inf samples (first at sample {bad[0]})"
    return None


def clipping_problem(estimate: np.ndarray) -> str | None:
    """Why an estimate beyond full scale is not scored, or None."""
    over = np.abs(estimate) > 1.0
    if not over.any():
        return None
    peak = float(np.max(np.abs(estimate)))
    return f"the estimate clips: {int(over.sum())} samples outside [-1, 1] (peak {peak:.3f})"


def reference_problem(estimate: np.ndarray, reference: np.ndarray | None, sample_rate: int) -> str | None:
    """Why the pair cannot be scored with reference metrics, or None."""
    problem = signal_problem(reference, "reference")
    if problem is not None:
        return "needs the clean reference" if reference is None else problem
    assert reference is not None
    if np.max(np.abs(reference)) < SILENCE_PEAK:
        return "the reference is silent"
    diff = abs(estimate.size - reference.size)
    if diff > LENGTH_TOLERANCE_S * sample_rate:
        return (
            f"estimate ({estimate.size} samples) and reference ({reference.size}) differ by {diff / sample_rate:.3f} s,"
            f" more than the {LENGTH_TOLERANCE_S * 1000:.0f} ms tolerance (wrong pair or sample rate?)"
        )
    return None


def _group_reason(metric: Metric, sample_rate: int, ref_problem: str | None) -> str | None:
    """Why a group cannot run on this utterance before computing anything, or None."""
    module = metric.missing_module()
    if module is not None:
        return f"the Python module '{module}' is not installed (pip install 'gtcrn-bench[metrics]')"
    if metric.sample_rates is not None and sample_rate not in metric.sample_rates:
        rates = " or ".join(str(r) for r in metric.sample_rates)
        return f"takes {rates} Hz audio, got {sample_rate} Hz"
    return ref_problem if metric.needs_reference else None


def _run_group(metric: Metric, pair: Pair) -> dict[str, float] | str:
    """The group's values, or the reason it failed."""
    try:
        values = metric.compute(pair)
    except MetricError as exc:
        return str(exc)
    except Exception as exc:  # a package's own failure on odd audio must not end the run
        return f"{type(exc).__name__}: {exc}"
    nan = sorted(k for k, v in values.items() if math.isnan(v))
    return f"{', '.join(nan)} came out NaN" if nan else dict(values)


def compute(
    names: list[str], estimate: np.ndarray, reference: np.ndarray | None = None, sample_rate: int = 16000
) -> MetricResults:
    """Score ``estimate`` (against ``reference`` where a metric needs one) with the named metrics.

    Unknown names raise ConfigError (a suite is checked before it runs); every
    problem of the audio itself becomes a None value with a reason.
    """
    metrics = [get(n) for n in names]
    results = MetricResults(values=dict.fromkeys(names))
    estimate = np.asarray(estimate)
    problem = signal_problem(estimate, "estimate") or clipping_problem(estimate)
    if problem is not None:
        results.fail(names, problem)
        return results
    ref = None if reference is None else np.asarray(reference)
    ref_problem = reference_problem(estimate, ref, sample_rate) if any(m.needs_reference for m in metrics) else None
    blind = Pair(estimate, None, sample_rate)
    paired = None
    if ref_problem is None and ref is not None:
        n = min(estimate.size, ref.size)
        paired = Pair(estimate[:n], ref[:n], sample_rate)
    groups: dict[str, list[Metric]] = defaultdict(list)
    for metric in metrics:
        groups[metric.group].append(metric)
    for members in groups.values():
        first = members[0]
        member_names = [m.name for m in members]
        reason = _group_reason(first, sample_rate, ref_problem)
        if reason is not None:
            results.fail(member_names, reason)
            continue
        pair = paired if first.needs_reference else blind
        assert pair is not None, "a reference metric passed the checks without a reference"
        started = time.process_time()
        outcome = _run_group(first, pair)
        results.cpu_s[first.group] = time.process_time() - started
        if isinstance(outcome, str):
            results.fail(member_names, outcome)
        else:
            results.values.update({n: float(outcome[n]) for n in member_names})
    return results
