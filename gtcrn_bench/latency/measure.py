"""Per-frame latency of runners: timed interleaved, summarised, with RTF and streams per core.

Several runners measured together run in turns of :data:`TURN_FRAMES`
consecutive frames, each turn opened by one untimed call
(:func:`gtcrn_bench.timing.time_interleaved`): every frame is timed with the
runner's code and weights in cache, as in the tight per-frame loop behind the
published RTF, while all runners share the machine's load within a few
milliseconds, so their figures are comparable on a busy machine. Model calls
of all runners are timed first, then their whole frame steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gtcrn_bench.latency.targets import Targets, targets
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.threads import check_threads, set_torch_threads, thread_report
from gtcrn_bench.timing import REWARM_CALLS, TURN_FRAMES, LatencyStats, time_interleaved

OFFLINE_REPEATS = 5  # whole-file calls per offline runner
STAT_KEYS = ("mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "std_ms", "rtf")


@dataclass
class LatencyResult:
    """One runner's timings: ``stats`` (JSON-ready) and the per-frame model-call times in ms."""

    stats: dict[str, Any]
    frames_ms: np.ndarray
    step_frames_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))


def summary(ms: np.ndarray, hop_ms: float, prefix: str = "") -> dict[str, float]:
    """mean, p50, p90, p95, p99, max, std (ms) and RTF = mean / ``hop_ms`` of per-frame times in ms."""
    s = LatencyStats.from_ms(ms, hop_ms)
    values = (s.mean_ms, s.median_ms, s.p90_ms, s.p95_ms, s.p99_ms, s.max_ms, s.std_ms, s.rtf)
    return {f"{prefix}{key}": float(v) for key, v in zip(STAT_KEYS, values, strict=True)}


def streams_per_core(step_mean_ms: float, hop_ms: float, threads: int) -> int:
    """Real-time streams one core sustains: hop / (whole-step time x threads used), rounded down.

    An upper bound: it assumes the streams' frames share a core without
    slowing each other (caches, memory bandwidth) and ignores everything but the frame step.
    """
    if step_mean_ms <= 0:
        raise ValueError("a frame step cannot take no time")
    return math.floor(hop_ms / (step_mean_ms * threads))


def _stats(key: str, t: Targets, model_ms: np.ndarray, step_ms: np.ndarray, warmup: int, threads: int) -> dict:
    stats: dict[str, Any] = {
        "runner": key,
        "kind": t.kind,
        "timed": t.model_label,
        "step_timed": t.step_label,
        "frames": int(model_ms.size),
        "warmup": warmup,
        "turn_frames": TURN_FRAMES,
        "threads": threads,
        "hop_ms": t.hop_ms,
        "step_hop_ms": t.step_hop_ms,
        **summary(model_ms, t.hop_ms),
        **summary(step_ms, t.step_hop_ms, prefix="step_"),
    }
    # an offline runner is not a stream: its "hop" is the whole file, so streams per core says nothing
    framewise = t.kind == "frame"
    stats["streams_per_core"] = streams_per_core(stats["step_mean_ms"], t.step_hop_ms, threads) if framewise else None
    return stats


def _time_pass(
    calls: dict[str, Any], frames: int, warmup: int, resets: list, *, framewise: bool = True
) -> dict[str, np.ndarray]:
    """Per-call ms of each callable, interleaved: turns of frames, or (whole files) alternating call by call."""
    for reset in resets:
        reset()
    keys = list(calls)
    block, rewarm = (TURN_FRAMES, REWARM_CALLS) if framewise else (1, 0)
    ns = time_interleaved([calls[k] for k in keys], frames, warmup=warmup, block=block, rewarm=rewarm)
    return {k: d.astype(np.float64) / 1e6 for k, d in zip(keys, ns, strict=True)}


def measure_many(
    runners: dict[str, Runner],
    *,
    frames: int,
    warmup: int,
    audio: np.ndarray,
    threads: int | None = None,
    repeats: int = OFFLINE_REPEATS,
) -> dict[str, LatencyResult]:
    """Time several runners interleaved: frame runners ``frames`` frames each, offline ones ``repeats`` files.

    ``threads``: when given, torch is set to it (intra-op, and inter-op where
    torch still allows: see :mod:`gtcrn_bench.runners.threads`) and every
    onnxruntime session must already use it (built with the runner's thread
    parameter); the settings the libraries report are recorded either way,
    with what was requested.
    """
    if frames < 1 or warmup < 0 or repeats < 1:
        raise ValueError("frames and repeats must be >= 1, warmup >= 0")
    requested: dict[str, Any] = {}
    if threads is not None:
        requested = set_torch_threads(threads)
        for runner in runners.values():
            check_threads(runner, threads)
    plan = {key: targets(runner, audio) for key, runner in runners.items()}
    framewise = {k: t for k, t in plan.items() if t.kind == "frame"}
    offline = {k: t for k, t in plan.items() if t.kind == "offline"}
    resets = [t.reset for t in framewise.values()]
    model_ms = _time_pass({k: t.model for k, t in framewise.items()}, frames, warmup, resets) if framewise else {}
    stepped = {k: t.step for k, t in framewise.items() if t.step is not None}
    step_ms = _time_pass(stepped, frames, warmup, resets) if stepped else {}
    if offline:
        offline_calls = {k: t.model for k, t in offline.items()}
        model_ms |= _time_pass(offline_calls, repeats, min(warmup, 1), [], framewise=False)
    results = {}
    for key, t in plan.items():
        ms = model_ms[key]
        whole = step_ms.get(key, ms)
        used = threads if threads is not None else thread_report(runners[key])["torch_intra_op"]
        stats = _stats(key, t, ms, whole, warmup, used)
        stats["thread_settings"] = thread_report(runners[key]) | requested
        results[key] = LatencyResult(stats, ms, whole)
    return results


def measure_runner(
    runner: Runner,
    *,
    frames: int,
    warmup: int,
    threads: int | None,
    audio: np.ndarray,
    repeats: int = OFFLINE_REPEATS,
    key: str | None = None,
) -> LatencyResult:
    """Latency of one runner (see :func:`measure_many`); ``key`` names it in the stats (default: its name)."""
    name = key or runner.name
    return measure_many({name: runner}, frames=frames, warmup=warmup, audio=audio, threads=threads, repeats=repeats)[
        name
    ]


def suite_latency(
    runners: dict[str, Runner], frames: int, warmup: int, audio: np.ndarray
) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The suite's latency section: stats by runner key, and per-frame model-call times (ms) of frame runners.

    All runners are timed in one interleaved run (the suite has already set
    the thread counts when it built them; what the libraries report is in each
    entry's ``thread_settings``). Offline runners get a whole-file RTF and no
    per-frame array.
    """
    results = measure_many(runners, frames=frames, warmup=warmup, audio=audio)
    stats = {key: r.stats for key, r in results.items()}
    per_frame = {key: r.frames_ms for key, r in results.items() if r.stats["kind"] == "frame"}
    return stats, per_frame
