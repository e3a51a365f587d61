"""Supervised worker processes: each (runner, utterance) pair runs in a worker that may die or hang alone.

Built on pebble's ``ProcessPool`` rather than ``concurrent.futures`` or loky:
those treat a dead worker as a broken pool (every pending pair fails with
``BrokenProcessPool`` / ``TerminatedWorkerError``) and cannot stop one task
that runs too long. Pebble tracks which task each worker holds, fails only that
task when its worker dies (with the exit code) or outlives its timeout (the
worker is killed), and starts a replacement; ``stop()`` kills the workers at
once. A pair whose worker died is not retried: it would take the next worker
down too.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from pebble import ProcessExpired, ProcessPool

from gtcrn_bench.runners.threads import thread_environment
from gtcrn_bench.suite.worker import PairTask, WorkerSetup, evaluate, init_worker

STOP_JOIN_S = 3.0  # how long stop() waits for pebble's threads to wind down after the workers are killed


def death_reason(exitcode: int | None) -> str:
    """``signal 11 (SIGSEGV)`` for a worker killed by a signal, ``exit status N`` otherwise."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
        return f"signal {-exitcode} ({name})"
    return f"exit status {exitcode}"


def kill_children() -> None:
    """SIGKILL every live child process of this one (the pool's workers)."""
    for child in multiprocessing.active_children():
        child.kill()


def failure_row(task: PairTask, message: str) -> dict[str, Any]:
    """The row of a pair whose worker could not give one: empty metrics and what happened."""
    return {"runner": task.key, "utterance": task.utterance, "error": f"{message} {task.where()}"}


class LocalPool:
    """``jobs`` supervised worker processes on this machine (spawned: torch's thread pools do not survive fork)."""

    def __init__(self, setup: WorkerSetup, jobs: int, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        # workers inherit the thread limits from the environment before they load any library
        thread_environment(setup.threads)
        self._pool = ProcessPool(
            max_workers=jobs,
            initializer=init_worker,
            initargs=(setup,),
            context=multiprocessing.get_context("spawn"),
        )

    def submit(self, task: PairTask) -> cf.Future:
        """Start evaluating ``task`` in the next free worker."""
        return self._pool.schedule(evaluate, (task,), timeout=self.timeout_s)

    def call(self, function: Callable[[], Any]) -> Any:
        """``function()`` in a worker (e.g. :func:`~gtcrn_bench.suite.worker.environment`); its exceptions raise."""
        return self._pool.schedule(function, timeout=self.timeout_s).result()

    def wait(self, pending: Iterable[cf.Future]) -> set[cf.Future]:
        """Block until at least one of ``pending`` has finished; returns the finished ones."""
        return cf.wait(list(pending), return_when=cf.FIRST_COMPLETED).done

    def result(self, future: cf.Future, task: PairTask) -> dict[str, Any]:
        """The row of a finished pair; a dead or timed-out worker's pair gets a row saying so."""
        return pair_outcome(future, task, self.timeout_s)

    def stop(self) -> None:
        """Kill the workers now (in-flight pairs are dropped); returns within ``STOP_JOIN_S``.

        pebble's ``join(timeout)`` is not bounded once the pool is stopped (its
        timeout applies to a closed pool only), so the join runs in a daemon
        thread that is given up after ``STOP_JOIN_S``: a Ctrl-C must bring the
        prompt back whatever state the pool's threads are in. The workers are
        killed first, so none goes on computing a pair that will be thrown away,
        and again after the join, in case pebble replaced one meanwhile: a
        worker left alive would keep the interpreter's exit waiting on it.
        """
        self._pool.stop()
        kill_children()
        joining = threading.Thread(target=self._pool.join, name="pool-join", daemon=True)
        joining.start()
        joining.join(STOP_JOIN_S)
        kill_children()

    def close(self) -> None:
        """Let the (idle) workers exit."""
        self._pool.close()
        self._pool.join()


def pair_outcome(future: cf.Future, task: PairTask, timeout_s: float) -> dict[str, Any]:
    """The row of a pebble future: its value, or why the worker gave none."""
    try:
        return future.result()
    except ProcessExpired as exc:
        return failure_row(task, f"worker died: {death_reason(exc.exitcode)}")
    except TimeoutError:
        return failure_row(task, f"timed out after {timeout_s:g} s")
    except Exception as exc:  # e.g. a row that cannot be pickled back: that pair's problem, not the run's
        return failure_row(task, f"worker failed: {type(exc).__name__}: {exc}")
