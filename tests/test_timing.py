"""The per-frame timing helper: interleaving, call counts and the summary statistics."""

from __future__ import annotations

import numpy as np
import pytest

from gtcrn_bench.timing import LatencyStats, latency_ratio, time_frames, time_interleaved


def test_time_interleaved_alternates_which_call_goes_first() -> None:
    log: list[tuple[str, int]] = []
    calls = [lambda i: log.append(("a", i)), lambda i: log.append(("b", i))]
    durations = time_interleaved(calls, 4, warmup=2)
    assert [len(d) for d in durations] == [4, 4] and all(np.all(d >= 0) for d in durations)
    assert log[:4] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]  # warmup, untimed
    assert log[4:] == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2), ("b", 3), ("a", 3)]


def test_time_frames_times_each_frame_once() -> None:
    seen: list[int] = []
    assert time_frames(seen.append, 5, warmup=0).shape == (5,)
    assert seen == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="nothing to time"):
        time_interleaved([], 3)


def test_latency_stats_and_ratio() -> None:
    ns = np.array([1_000_000, 2_000_000, 3_000_000, 10_000_000])  # 1, 2, 3, 10 ms
    stats = LatencyStats.from_ns(ns)
    assert (stats.frames, stats.mean_ms, stats.median_ms) == (4, 4.0, 2.5)
    assert stats.rtf == pytest.approx(4.0 / 16.0)  # one frame every 16 ms
    assert stats.p95_ms == pytest.approx(np.percentile([1, 2, 3, 10], 95))
    assert latency_ratio(ns, 2 * ns) == pytest.approx(0.5)
