"""Per-frame latency measurement: time callables frame by frame, interleaved, and summarise.

Absolute times on a shared machine drift with the load of other processes;
comparing two models is only fair when both run under the same conditions, so
:func:`time_interleaved` calls them alternately, frame after frame, rotating
which goes first, and returns one duration per call. Compare them as a ratio of
medians (:func:`latency_ratio`), which one busy moment on the machine barely moves.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

FRAME_MS = 16.0  # one GTCRN frame (hop 256 at 16 kHz): RTF = model time per frame / 16 ms

FrameCall = Callable[[int], object]


def time_interleaved(calls: Sequence[FrameCall], n_frames: int, *, warmup: int = 50) -> list[np.ndarray]:
    """Call every callable once per frame index, alternating between them; per-call durations in ns.

    Each callable gets the frame index (0 .. n_frames - 1) so it can feed that
    frame's input. Frame i starts with callable ``i % len(calls)`` so none
    always runs first (caches warmed by the other, or not). ``warmup`` frames
    are run before, untimed, with indices 0 .. warmup - 1 (callables can
    reset their state when index 0 comes round again). The garbage collector is
    paused while timing, so its pauses are not charged to one model.
    Returns one int64 array of ``n_frames`` durations per callable, in order.
    """
    if not calls:
        raise ValueError("nothing to time")
    for i in range(warmup):
        for call in calls:
            call(i)
    k = len(calls)
    durations = np.zeros((k, n_frames), dtype=np.int64)
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(n_frames):
            for j in range(k):
                which = (i + j) % k
                start = clock()
                calls[which](i)
                durations[which, i] = clock() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return list(durations)


def time_frames(call: FrameCall, n_frames: int, *, warmup: int = 50) -> np.ndarray:
    """Per-frame durations (ns) of one callable: :func:`time_interleaved` with a single entry."""
    return time_interleaved([call], n_frames, warmup=warmup)[0]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of per-frame durations, in milliseconds; ``rtf`` is the mean over the 16 ms frame hop."""

    frames: int
    mean_ms: float
    median_ms: float
    p95_ms: float
    p99_ms: float
    rtf: float

    @classmethod
    def from_ns(cls, durations_ns: np.ndarray) -> LatencyStats:
        """Summarise an array of per-frame durations in nanoseconds."""
        ms = np.asarray(durations_ns, dtype=np.float64) / 1e6
        if ms.size == 0:
            raise ValueError("no durations to summarise")
        return cls(
            frames=int(ms.size),
            mean_ms=float(ms.mean()),
            median_ms=float(np.median(ms)),
            p95_ms=float(np.percentile(ms, 95)),
            p99_ms=float(np.percentile(ms, 99)),
            rtf=float(ms.mean() / FRAME_MS),
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def latency_ratio(durations_ns: np.ndarray, reference_ns: np.ndarray) -> float:
    """Median per-frame time of one model over another's (< 1: faster than the reference)."""
    return float(np.median(durations_ns) / np.median(reference_ns))
