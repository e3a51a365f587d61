"""Feeding (runner, utterance) pairs to an executor and collecting rows as they finish.

The executor is the local supervised pool (:mod:`gtcrn_bench.suite.pool`) or a
Dask cluster (:mod:`gtcrn_bench.suite.dask_pool`); both take a :class:`PairTask`
(the audio travels with it) and give back a row. Only a bounded window of pairs
is in flight, so the audio of a large set is never all in memory and Ctrl-C has
little to throw away.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from gtcrn_bench.datasets import Dataset
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.suite.worker import CPU_FIELD, PairTask


class Executor(Protocol):
    """What the engine asks of an executor."""

    def submit(self, task: PairTask) -> Hashable:
        """Start one pair; returns a handle."""

    def wait(self, pending: Iterable[Any]) -> set[Any]:
        """Block until at least one handle has finished; the finished ones."""

    def result(self, handle: Any, task: PairTask) -> dict[str, Any]:
        """The row of a finished pair (an error row when its worker died or timed out); never raises."""

    def stop(self) -> None:
        """Stop every worker at once, dropping in-flight pairs (Ctrl-C)."""

    def close(self) -> None:
        """Release the workers after the last pair."""


def pair_tasks(dataset: Dataset, pairs: list[tuple[str, Any]]) -> Iterator[PairTask | dict[str, Any]]:
    """Each pair as a task with its audio, or as a finished error row when its audio cannot be loaded.

    ``pairs`` come utterance by utterance, so each file is read once for all runners.
    """
    loaded: tuple[Any, Any] | None = None
    for key, utt in pairs:
        if loaded is None or loaded[0] is not utt:
            try:
                loaded = (utt, dataset.load(utt))
            except GtcrnBenchError as exc:
                loaded = (utt, str(exc))
            except Exception as exc:  # an unreadable file is that pair's problem, never the run's
                loaded = (utt, f"{type(exc).__name__}: {exc}")
        audio = loaded[1]
        if isinstance(audio, str):
            yield {"runner": key, "utterance": utt.name, "error": audio}
        else:
            yield PairTask(key, utt.name, audio[0], audio[1])


@dataclass
class CpuTally:
    """CPU seconds spent per runner and per metric group, summed over the rows of this session."""

    runners: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def add(self, row: dict[str, Any]) -> None:
        spent = row.get(CPU_FIELD) or {}
        if "runner" in spent:
            self.runners[row["runner"]] = self.runners.get(row["runner"], 0.0) + spent["runner"]
        for group, seconds in spent.get("metrics", {}).items():
            self.metrics[group] = self.metrics.get(group, 0.0) + seconds

    def merged_with(self, earlier: dict[str, Any] | None) -> dict[str, Any]:
        """This tally added to an earlier session's record (a resumed run counts both)."""
        earlier = earlier or {}
        out: dict[str, Any] = {}
        for part, mine in (("runners", self.runners), ("metrics", self.metrics)):
            before = dict(earlier.get(part, {}))
            for name, seconds in mine.items():
                before[name] = before.get(name, 0.0) + seconds
            out[part] = {k: round(v, 3) for k, v in before.items()}
        return out


def run_pairs(
    executor: Executor,
    tasks: Iterable[PairTask | dict[str, Any]],
    window: int,
    record: Callable[[dict[str, Any]], None],
) -> None:
    """Submit ``tasks`` keeping at most ``window`` in flight, recording each row when it arrives.

    On Ctrl-C the workers are stopped at once (in-flight pairs dropped, recorded
    rows kept) and the KeyboardInterrupt goes on to the caller; further Ctrl-C
    stay ignored (the caller restores the handler when it has finished up), so a
    second one never interrupts the cleanup.
    """
    pending: dict[Any, PairTask] = {}

    def drain() -> None:
        for handle in executor.wait(pending):
            record(executor.result(handle, pending.pop(handle)))

    try:
        for item in tasks:
            if isinstance(item, dict):
                record(item)
                continue
            while len(pending) >= window:
                drain()
            pending[executor.submit(item)] = item
        while pending:
            drain()
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        executor.stop()
        raise
    except BaseException:  # e.g. the disk is full: the workers must not outlive the run
        executor.stop()
        raise
    executor.close()
