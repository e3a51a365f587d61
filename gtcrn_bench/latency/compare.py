"""Runners timed side by side in one run, and each one's ratio of mean times to a reference, with a CI.

The CI method: the runners are timed interleaved (turns of
:data:`~gtcrn_bench.timing.TURN_FRAMES` frames each, every turn opened by one
untimed call, the runners taking turns in rotating order), so frame i of one
and frame i of the reference ran within milliseconds of each other and share
the machine's load at that moment: the frames are *paired*. Frame times are not independent (a busy spell on the
machine slows hundreds of consecutive frames), so a bootstrap over single
frames would give intervals far too narrow. Instead the paired series are cut
into consecutive blocks of :data:`BOOTSTRAP_BLOCK` frames (a moving-block
bootstrap with non-overlapping blocks): the blocks' summed times, kept in
pairs, are resampled with replacement and the ratio of means
``sum(times) / sum(reference)`` recomputed on each resample; the interval is
scipy's BCa interval of those resamples (bias-corrected and accelerated, which
suits the skew of a ratio). The point estimate is the ratio of the means over
all frames. Load changes slower than a block move both runners alike and
cancel in the ratio; what the interval shows is the remaining frame-to-frame
disagreement. Simulated coverage of the 95 % interval (tests/test_latency.py,
load following an AR(1) process with a 50-frame memory): ~0.96 at 2000 frames,
0.91-0.93 at 500-1000 frames (fewer blocks): time 2000 frames or more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency.measure import OFFLINE_REPEATS, LatencyResult, measure_many
from gtcrn_bench.runners.base import FrameRunner, Runner
from gtcrn_bench.timing import latency_ratio

BOOTSTRAP_BLOCK = 50  # frames per bootstrap block (5 timing turns of 10 frames)
MIN_BLOCKS = 40  # fewer blocks than this: blocks are shortened so there are this many
RESAMPLES = 4000
SEED = 0  # fixed: the same timings always give the same interval


@dataclass(frozen=True)
class RatioCI:
    """Ratio of mean times (``times`` over ``reference``) and its bootstrap confidence interval."""

    ratio: float
    low: float
    high: float
    confidence: float
    blocks: int
    block_frames: int
    median_ratio: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _blocks(n: int, block: int) -> int:
    """Block length giving at least :data:`MIN_BLOCKS` blocks when ``n`` allows (1 frame at the least)."""
    return max(1, min(block, n // MIN_BLOCKS))


def ratio_of_means(
    times_ms: np.ndarray,
    reference_ms: np.ndarray,
    *,
    confidence: float = 0.95,
    block: int = BOOTSTRAP_BLOCK,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> RatioCI:
    """mean(times) / mean(reference) for paired per-frame times, with a block-bootstrap BCa interval."""
    x = np.asarray(times_ms, dtype=np.float64)
    y = np.asarray(reference_ms, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired 1-D timings expected, got shapes {x.shape} and {y.shape}")
    if x.size < 2 or np.any(y < 0) or y.sum() <= 0:
        raise ValueError("at least two paired frames with a positive reference time are needed")
    length = _blocks(x.size, block)
    n_blocks = x.size // length
    xs = x[: n_blocks * length].reshape(n_blocks, length).sum(axis=1)
    ys = y[: n_blocks * length].reshape(n_blocks, length).sum(axis=1)
    ratio, median_ratio = float(x.mean() / y.mean()), latency_ratio(x, y)
    if np.ptp(xs / ys) == 0:  # every block has the same ratio: no spread to resample (scipy would return NaN)
        return RatioCI(ratio, ratio, ratio, confidence, int(n_blocks), int(length), median_ratio)
    result = stats.bootstrap(
        (xs, ys),
        lambda a, b, axis: a.sum(axis=axis) / b.sum(axis=axis),
        paired=True,
        vectorized=True,
        confidence_level=confidence,
        n_resamples=resamples,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return RatioCI(
        ratio, float(interval.low), float(interval.high), confidence, int(n_blocks), int(length), median_ratio
    )


@dataclass(frozen=True)
class Ratios:
    """One runner's ratios of mean times to the reference's: the model call and the whole frame step."""

    model: RatioCI
    step: RatioCI


@dataclass
class Comparison:
    """Runners timed in one interleaved run: every result, and each runner's ratios to ``reference``."""

    reference: str
    results: dict[str, LatencyResult]  # every runner, the reference included, in the order given
    ratios: dict[str, Ratios]  # every runner but the reference

    def to_dict(self, key: str) -> dict[str, Any]:
        """Runner ``key`` against the reference, JSON-ready (``ratio``, ``ci_low``, ``ci_high``: the model call)."""
        ratios = self.ratios[key]
        return {
            "runner": key,
            "reference": self.reference,
            "ratio": ratios.model.ratio,
            "ci_low": ratios.model.low,
            "ci_high": ratios.model.high,
            "confidence": ratios.model.confidence,
            "model_call": ratios.model.to_dict(),
            "step": ratios.step.to_dict(),
        }


def _check_comparable(runners: dict[str, Runner], reference: str) -> None:
    """Every runner must be frame-wise like the reference, or offline like it: their times are per frame or per file."""
    if len(runners) < 2 or reference not in runners:
        raise ValueError("compare two or more runners, one of them the reference")
    framewise = isinstance(runners[reference], FrameRunner)
    for key, runner in runners.items():
        if isinstance(runner, FrameRunner) != framewise:
            raise ConfigError(f"'{key}' and '{reference}' are not comparable: one is frame-wise, the other offline")


def compare_runners(
    runners: dict[str, Runner],
    *,
    reference: str,
    frames: int,
    warmup: int,
    audio: np.ndarray,
    threads: int | None = None,
    repeats: int = OFFLINE_REPEATS,
    confidence: float = 0.95,
) -> Comparison:
    """Time two or more runners (by key) interleaved in one run; each one's ratio of means to ``reference``.

    All frame-wise or all offline. When hops differ (RNNoise's 10 ms against
    GTCRN's 16 ms), a ratio is of mean RTFs, i.e. of compute per second of audio.
    """
    _check_comparable(runners, reference)
    results = measure_many(runners, frames=frames, warmup=warmup, audio=audio, threads=threads, repeats=repeats)
    base = results[reference]

    def ratio(times: np.ndarray, hop_ms: float, base_times: np.ndarray, base_hop_ms: float) -> RatioCI:
        # per-frame RTFs: with equal hops (the usual case) this is the ratio of mean frame times
        return ratio_of_means(times / hop_ms, base_times / base_hop_ms, confidence=confidence)

    ratios = {
        key: Ratios(
            ratio(result.frames_ms, result.stats["hop_ms"], base.frames_ms, base.stats["hop_ms"]),
            ratio(result.step_frames_ms, result.stats["step_hop_ms"], base.step_frames_ms, base.stats["step_hop_ms"]),
        )
        for key, result in results.items()
        if key != reference
    }
    return Comparison(reference, results, ratios)
