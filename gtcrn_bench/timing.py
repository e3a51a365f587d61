"""Per-frame latency measurement: time callables frame by frame, interleaved, and summarise.

Absolute times on a shared machine drift with the load of other processes;
comparing two models is only fair when both run under the same conditions, so
:func:`time_interleaved` calls them in alternating turns, rotating which goes
first, and returns one duration per call. The latency tools use turns of
:data:`TURN_FRAMES` frames, each opened by :data:`REWARM_CALLS` untimed call,
so every timed frame finds its model's code and weights in cache. Compare them as a ratio of
medians (:func:`latency_ratio`), which one busy moment on the machine barely moves
(:mod:`gtcrn_bench.latency.compare` adds the ratio of means with a confidence interval).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

FRAME_MS = 16.0  # one GTCRN frame (hop 256 at 16 kHz): RTF = model time per frame / 16 ms

FrameCall = Callable[[int], object]


TURN_FRAMES = 10  # frames a callable runs in a row before the next one's turn (see time_interleaved)
REWARM_CALLS = 1  # untimed calls opening each turn (caches back to the callable's own)


def time_interleaved(
    calls: Sequence[FrameCall], n_frames: int, *, warmup: int = 50, block: int = 1, rewarm: int = 0
) -> list[np.ndarray]:
    """Call every callable once per frame index, alternating between them; per-call durations in ns.

    Each callable gets the frame index (0 .. n_frames - 1) so it can feed that
    frame's input. The callables take turns of ``block`` consecutive frames;
    turn t starts with callable ``t % len(calls)`` so none always runs first
    (caches warmed by the other, or not). ``rewarm`` untimed calls (with the
    turn's first index) open each turn: a runner's first call after another
    runner's code ran is slower (measured here: the published graph's frame
    took 0.5 ms in a tight loop, ~1 ms right after a PyTorch frame), so
    ``block=10, rewarm=1`` times every frame with the caches warm, as a tight
    loop would, while all callables still share the machine's load within a
    few milliseconds. ``warmup`` frames are run before, untimed, with indices
    0 .. warmup - 1 (callables can reset their state when index 0 comes round
    again). The garbage collector runs once before and is paused while timing,
    so its pauses are not charged to one model. Returns one int64 array of
    ``n_frames`` durations per callable, in order.
    """
    if not calls:
        raise ValueError("nothing to time")
    if block < 1 or rewarm < 0:
        raise ValueError("block must be >= 1 and rewarm >= 0")
    for i in range(warmup):
        for call in calls:
            call(i)
    k = len(calls)
    durations = np.zeros((k, n_frames), dtype=np.int64)
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for turn, first in enumerate(range(0, n_frames, block)):
            for j in range(k):
                which = (turn + j) % k
                call, row = calls[which], durations[which]
                for _ in range(rewarm):
                    call(first)
                for i in range(first, min(first + block, n_frames)):
                    start = clock()
                    call(i)
                    row[i] = clock() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return list(durations)


def time_frames(call: FrameCall, n_frames: int, *, warmup: int = 50) -> np.ndarray:
    """Per-frame durations (ns) of one callable: :func:`time_interleaved` with a single entry."""
    return time_interleaved([call], n_frames, warmup=warmup)[0]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of per-frame durations, in milliseconds; ``rtf`` is the mean over the frame hop ``hop_ms``.

    Percentiles use numpy's default (linear interpolation between order
    statistics); ``std_ms`` is the sample standard deviation (ddof = 1).
    """

    frames: int
    mean_ms: float
    median_ms: float
    p95_ms: float
    p99_ms: float
    rtf: float
    p90_ms: float = math.nan
    max_ms: float = math.nan
    std_ms: float = math.nan
    hop_ms: float = FRAME_MS

    @classmethod
    def from_ns(cls, durations_ns: np.ndarray, hop_ms: float = FRAME_MS) -> LatencyStats:
        """Summarise an array of per-frame durations in nanoseconds (``hop_ms``: the runner's frame hop)."""
        return cls.from_ms(np.asarray(durations_ns, dtype=np.float64) / 1e6, hop_ms)

    @classmethod
    def from_ms(cls, durations_ms: np.ndarray, hop_ms: float = FRAME_MS) -> LatencyStats:
        """Summarise an array of per-frame durations in milliseconds."""
        ms = np.asarray(durations_ms, dtype=np.float64)
        if ms.size == 0:
            raise ValueError("no durations to summarise")
        p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99])
        return cls(
            frames=int(ms.size),
            mean_ms=float(ms.mean()),
            median_ms=float(p50),
            p95_ms=float(p95),
            p99_ms=float(p99),
            rtf=float(ms.mean() / hop_ms),
            p90_ms=float(p90),
            max_ms=float(ms.max()),
            std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
            hop_ms=float(hop_ms),
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def latency_ratio(durations_ns: np.ndarray, reference_ns: np.ndarray) -> float:
    """Median per-frame time of one model over another's (< 1: faster than the reference)."""
    return float(np.median(durations_ns) / np.median(reference_ns))
