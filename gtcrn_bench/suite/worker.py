"""Evaluating one (runner, utterance) pair in a worker process: enhance (or reuse), align, score.

The audio travels with the task (:class:`PairTask`), so a worker needs no access
to the dataset's files: only gtcrn-bench, the model store and the cache. Each
worker process builds its runners and metric sessions once and keeps them
(:class:`WorkerState`); every failure of one pair that Python can catch becomes
that row's ``error``. What Python cannot catch (a segfault in a native library,
an endless loop) is the supervising pool's business (:mod:`gtcrn_bench.suite.pool`).
"""

from __future__ import annotations

import importlib
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gtcrn_bench import metrics
from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.threads import limit_process_threads
from gtcrn_bench.suite.cache import AudioCache, default_cache_dir, enhance_cached
from gtcrn_bench.suite.config import RunnerEntry

#: the key under which a row carries its CPU seconds back to the engine (not a column of per_utterance.csv)
CPU_FIELD = "cpu_s"


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs (picklable, small): runner entries, metrics, threads.

    ``runner_modules``: the modules defining runners that are neither built in
    nor entry-point plugins (e.g. registered by a test or a user's script); a
    worker imports them so that their names resolve there too.
    """

    runners: dict[str, RunnerEntry]
    metric_names: list[str]
    threads: int
    runner_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class PairTask:
    """One (runner, utterance) pair with its audio (16 kHz float32; ``clean`` None on reference-free sets)."""

    key: str
    utterance: str
    clean: np.ndarray | None
    noisy: np.ndarray

    def where(self) -> str:
        """``in runner X on UTT``: how an error row names the pair."""
        return f"in runner {self.key} on {self.utterance}"


def build_entry(entry: RunnerEntry, threads: int) -> Runner:
    """The entry's runner with its thread parameter set to ``threads``, exactly as the latency stage builds it.

    Without it a runner whose thread parameter defaults to None (DTLN) gets
    onnxruntime's default of every core, and parallel workers oversubscribe
    the CPU. The preflight builds runners the same way, so the identities in
    metadata.json are those of the runners that produced the rows.
    """
    return registry.build(entry.name, entry.params, threads)


def runner_modules(entries: list[RunnerEntry]) -> tuple[str, ...]:
    """The modules a worker must import for these entries' runner names to resolve (see :class:`WorkerSetup`)."""
    modules = {registry.resolve(e.name)[0].__module__ for e in entries}
    return tuple(sorted(m for m in modules if m not in registry.BUILTIN_MODULES))


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
    """Worker initializer: ignore Ctrl-C (the supervisor stops workers), set threads, keep the setup.

    A terminal's Ctrl-C reaches the whole process group; the supervising
    process alone decides, and kills its workers at once.
    """
    global _STATE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_process_threads(setup.threads)
    for module in setup.runner_modules:
        importlib.import_module(module)
    _STATE = WorkerState(setup)


def environment() -> dict[str, Any]:
    """What identifies this worker's results (metric versions, runner identities with model sha256), and its machine.

    Runs in the worker process that will evaluate the pairs, so the runners it
    builds for the check are the ones the pairs use (built once).
    """
    import os
    import platform

    from gtcrn_bench import provenance

    assert _STATE is not None, "init_worker was not called"
    return {
        "metrics": metrics.provenance(_STATE.setup.metric_names),
        "runners": {key: _STATE.runner(key).describe() for key in _STATE.setup.runners},
        "host": platform.node(),
        "cpu": provenance.cpu_info(),
        "cpu_count": os.cpu_count(),
    }


def enhance(state: WorkerState, key: str, noisy: np.ndarray) -> tuple[np.ndarray, float | None]:
    """The runner's output for ``noisy`` (cached by content in this machine's store) and its processing time
    (None when cached)."""
    return enhance_cached(AudioCache(default_cache_dir()), state.runner(key), noisy, state.identity(key))


def evaluate(task: PairTask) -> dict[str, Any]:
    """One row of per_utterance.csv, with its CPU seconds under :data:`CPU_FIELD`; never raises for this pair."""
    assert _STATE is not None, "init_worker was not called"
    state = _STATE
    row: dict[str, Any] = {"runner": task.key, "utterance": task.utterance}
    row["duration_s"] = round(task.noisy.size / SAMPLE_RATE, 4)
    started = time.process_time()
    try:
        estimate, row["process_s"] = enhance(state, task.key, task.noisy)
    except GtcrnBenchError as exc:
        row["error"] = str(exc)
        return row
    except Exception as exc:  # a runner's own bug must not end the run: record it on the row
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    finally:
        row[CPU_FIELD] = {"runner": time.process_time() - started}
    reference = None
    if task.clean is not None:
        estimate, reference = state.runner(task.key).align(estimate, task.clean)
    result = metrics.compute(state.setup.metric_names, estimate, reference)
    row.update(result.values)
    row[CPU_FIELD]["metrics"] = result.cpu_s
    if result.errors:
        row["error"] = result.error_summary()
    return row
