"""Evaluating one (runner, utterance) pair in a worker process: enhance (or reuse), align, score.

Each worker process builds its runners and metric sessions once and keeps them
(:class:`WorkerState`); every failure of one pair becomes that row's ``error``
so the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench import metrics
from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.threads import limit_process_threads
from gtcrn_bench.suite.cache import AudioCache, enhance_cached
from gtcrn_bench.suite.config import RunnerEntry


@dataclass
class WorkerSetup:
    """What every worker needs (picklable): runner entries, dataset, metrics, cache, threads."""

    runners: dict[str, RunnerEntry]
    dataset: Any
    metric_names: list[str]
    cache_dir: Path
    threads: int


def build_entry(entry: RunnerEntry, threads: int) -> Runner:
    """The entry's runner with its thread parameter set to ``threads``, exactly as the latency stage builds it.

    Without it a runner whose thread parameter defaults to None (DTLN) gets
    onnxruntime's default of every core, and parallel workers oversubscribe
    the CPU. The preflight builds runners the same way, so the identities in
    metadata.json are those of the runners that produced the rows.
    """
    return registry.build(entry.name, entry.params, threads)


@dataclass
class WorkerState:
    """Per-process state: the setup, the runners built so far and their identities."""

    setup: WorkerSetup
    runners: dict[str, Runner] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)

    def runner(self, key: str) -> Runner:
        """The runner of entry ``key``, built once per process with the suite's thread count."""
        if key not in self.runners:
            self.runners[key] = build_entry(self.setup.runners[key], self.setup.threads)
            self.identities[key] = self.runners[key].output_identity()
        return self.runners[key]

    def identity(self, key: str) -> dict[str, Any]:
        """The runner's :meth:`~Runner.output_identity`, computed once (it may hash model files)."""
        self.runner(key)
        return self.identities[key]


_STATE: WorkerState | None = None


def init_worker(setup: WorkerSetup) -> None:
    """Process-pool initializer: set threads and keep the setup for :func:`evaluate`."""
    global _STATE
    limit_process_threads(setup.threads)
    _STATE = WorkerState(setup)


def enhance(state: WorkerState, key: str, noisy: np.ndarray) -> tuple[np.ndarray, float | None]:
    """The runner's output for ``noisy`` (cached by content) and its processing time (None when cached)."""
    return enhance_cached(AudioCache(state.setup.cache_dir), state.runner(key), noisy, state.identity(key))


def evaluate(key: str, utterance: Any) -> dict[str, Any]:
    """One row of per_utterance.csv; never raises for a problem of this pair."""
    assert _STATE is not None, "init_worker was not called"
    state = _STATE
    row: dict[str, Any] = {"runner": key, "utterance": utterance.name}
    try:
        clean, noisy = state.setup.dataset.load(utterance)
        transcript = state.setup.dataset.transcript(utterance)
        row["duration_s"] = round(noisy.size / SAMPLE_RATE, 4)
        estimate, row["process_s"] = enhance(state, key, noisy)
    except GtcrnBenchError as exc:
        row["error"] = str(exc)
        return row
    except Exception as exc:  # a runner's own bug must not end the run: record it on the row
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    reference = None
    if clean is not None:
        estimate, reference = state.runner(key).align(estimate, clean)
    result = metrics.compute(state.setup.metric_names, estimate, reference, transcript=transcript)
    row.update(result.values)
    if result.errors:
        row["error"] = result.error_summary()
    return row
