"""The Dask executor: the same pair evaluation on a Dask distributed cluster.

Each pair is a Dask task carrying its audio, so workers need no shared
filesystem: only gtcrn-bench installed and the model store fetched. On the
worker the task runs in that worker's own supervised pool
(:class:`~gtcrn_bench.suite.pool.LocalPool`), so a crash, an abort or a pair
over its time limit gives exactly the row it gives locally, and the Dask
worker itself stays up. That pool's processes are children of the Dask worker,
so workers must not be daemonic processes (the embedded cluster is started so;
``dask worker`` needs ``DASK_DISTRIBUTED__WORKER__DAEMON=False``), which the
environment check verifies with the rest before any work is sent.

Without a scheduler address an embedded ``LocalCluster`` is started,
listening on 127.0.0.1 only. A scheduler runs whatever any client reaching it
sends: a cluster beyond one machine must use TLS (``--tls-ca/--tls-cert/--tls-key``).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import uuid
from collections.abc import Iterable
from typing import Any

import dask
import distributed
from distributed.security import Security

from gtcrn_bench import __version__, metrics
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.suite.pool import LocalPool, failure_row
from gtcrn_bench.suite.worker import PairTask, WorkerSetup, environment

#: what a worker must share with the client, and how a difference is named
CHECKED = {"gtcrn_bench": "gtcrn-bench version", "metrics": "metric packages", "runners": "runner identities"}
WORKER_WAIT_S = 60
_POOLS: dict[str, LocalPool] = {}


def security(ca: str | None, cert: str | None, key: str | None) -> Security | None:
    """Dask's TLS settings for this client from PEM files (all three, or none)."""
    given = [x for x in (ca, cert, key) if x]
    if not given:
        return None
    if len(given) != 3:
        raise ConfigError("--tls-ca, --tls-cert and --tls-key go together (the CA, this client's certificate and key)")
    for path in (ca, cert, key):
        if not os.path.isfile(str(path)):
            raise ConfigError(f"TLS: no such file {path}")
    return Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """How a worker's environment differs from the client's, one phrase per difference."""
    if theirs.get("daemonic"):
        return ["runs as a daemonic process (start it with DASK_DISTRIBUTED__WORKER__DAEMON=False)"]
    found = []
    for key, what in CHECKED.items():
        if mine[key] == theirs[key]:
            continue
        if key == "runners":
            keys = sorted(k for k in mine[key] if mine[key][k] != theirs[key].get(k))
            found.append(f"{what} differ for {', '.join(keys)}")
        else:
            found.append(f"{what} {theirs[key]} (here: {mine[key]})")
    return found


def worker_pool(setup: WorkerSetup, timeout_s: float) -> LocalPool:
    """This Dask worker's supervised pool for this run (one process per worker thread), started on first use."""
    key = hashlib.sha256(pickle.dumps((setup, timeout_s))).hexdigest()
    if key not in _POOLS:
        shutdown_pools()  # another run's workers: their runners are not this run's
        _POOLS[key] = LocalPool(setup, distributed.get_worker().state.nthreads, timeout_s)
    return _POOLS[key]


def check_worker(setup: WorkerSetup, timeout_s: float) -> dict[str, Any]:
    """Dask task: this worker's environment as its supervised process sees it (the runners it builds stay),
    with the gtcrn-bench version of the worker (its supervised processes run the same installation)."""
    if multiprocessing.current_process().daemon:  # it could not start the supervised processes
        return {"daemonic": True}
    return {"gtcrn_bench": __version__, **worker_pool(setup, timeout_s).call(environment)}


def evaluate_on_worker(setup: WorkerSetup, timeout_s: float, task: PairTask) -> dict[str, Any]:
    """The Dask task of one pair: evaluated in this worker's supervised pool."""
    pool = worker_pool(setup, timeout_s)
    future = pool.submit(task)
    pool.wait([future])
    return pool.result(future, task)


def shutdown_pools() -> None:
    """Stop this worker's supervised pools (after a run, or before another run's)."""
    while _POOLS:
        _POOLS.popitem()[1].stop()


class DaskPool:
    """Pairs evaluated on a Dask cluster: an existing one (``scheduler``) or an embedded one on localhost."""

    def __init__(
        self,
        setup: WorkerSetup,
        identities: dict[str, dict[str, Any]],
        jobs: int,
        timeout_s: float,
        scheduler: str | None,
        tls: Security | None,
    ) -> None:
        """``identities``: the runners' :meth:`~gtcrn_bench.runners.base.Runner.describe` as built here
        (the preflight's), which every worker's must equal."""
        self.setup = setup
        self.identities = identities
        self.timeout_s = timeout_s
        self.cluster: distributed.LocalCluster | None = None
        if scheduler is None:
            if tls is not None:
                raise ConfigError("--tls-*: TLS is for a cluster's scheduler (--scheduler tls://HOST:PORT)")
            # workers start the supervised pool's processes, so they must not be daemonic; a pair whose worker died
            # is never retried (it would take the next worker down too)
            dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 0})
            self.cluster = distributed.LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            )
        address = self.cluster if self.cluster is not None else scheduler
        try:
            self.client = distributed.Client(address, security=tls, timeout=WORKER_WAIT_S)
        except (OSError, TimeoutError, TypeError, ValueError) as exc:
            self._close_cluster()
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {type(exc).__name__}: {exc}") from exc
        self._pending: set[distributed.Future] = set()
        try:
            self.workers = self._checked_workers()
        except BaseException:
            self.close()
            raise

    def _checked_workers(self) -> dict[str, dict[str, Any]]:
        """Every worker's environment, after refusing (by name) any whose results would differ from this machine's."""
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError as exc:
            raise ConfigError(f"Dask: no worker joined {self.client.scheduler.address} in {WORKER_WAIT_S} s") from exc
        mine = {
            "gtcrn_bench": __version__,
            "metrics": metrics.provenance(self.setup.metric_names),
            "runners": self.identities,
        }
        info = self.client.scheduler_info()["workers"]
        checks = {
            address: self.client.submit(
                check_worker,
                self.setup,
                self.timeout_s,
                workers=[address],
                allow_other_workers=False,
                pure=False,
                key=f"gtcrn-check-{uuid.uuid4().hex}",
            )
            for address in info
        }
        found, refused = {}, []
        for address, check in checks.items():
            name = f"{info[address].get('name', address)} ({address})"
            try:
                found[address] = check.result()
            except Exception as exc:  # e.g. a model missing from that worker's store
                refused.append(f"{name}: cannot build the suite's runners: {type(exc).__name__}: {exc}")
                continue
            problems = differences(mine, found[address])
            if problems:
                refused.append(f"{name}: {'; '.join(problems)}")
        if refused:
            raise ConfigError("Dask: refusing mismatched workers: " + " | ".join(refused))
        return {
            address: {
                "name": str(info.get(address, {}).get("name", address)),
                "host": env["host"],
                "cpu": env["cpu"],
                "cpu_count": env["cpu_count"],
                "nthreads": info.get(address, {}).get("nthreads"),
                "memory_limit": info.get(address, {}).get("memory_limit"),
                "threads_per_pair": self.setup.threads,
            }
            for address, env in found.items()
        }

    def slots(self) -> int:
        """Pairs the cluster computes at once (its worker threads)."""
        return sum(w["nthreads"] or 1 for w in self.workers.values())

    def describe(self) -> dict[str, Any]:
        """metadata.json's record of the executor: scheduler, embedded or not, and every worker."""
        return {
            "kind": "dask",
            "scheduler": self.client.scheduler.address,
            "embedded": self.cluster is not None,
            "distributed": distributed.__version__,
            "workers": self.workers,
        }

    def submit(self, task: PairTask) -> distributed.Future:
        """Send one pair (with its audio) to the cluster."""
        name = f"gtcrn-pair-{task.key}-{task.utterance}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(evaluate_on_worker, self.setup, self.timeout_s, task, key=name, pure=False)
        self._pending.add(future)
        return future

    def wait(self, pending: Iterable[distributed.Future]) -> set[distributed.Future]:
        """Block until at least one of ``pending`` has finished."""
        return set(distributed.wait(list(pending), return_when="FIRST_COMPLETED").done)

    def result(self, handle: distributed.Future, task: PairTask) -> dict[str, Any]:
        """The pair's row; a Dask worker lost under it gives a row saying so (never retried)."""
        self._pending.discard(handle)
        try:
            return handle.result()
        except Exception as exc:
            return failure_row(task, f"worker died: Dask worker lost ({type(exc).__name__}: {exc})")

    def stop(self) -> None:
        """Ctrl-C: cancel what is queued or running and let go of the cluster (an embedded one is shut down)."""
        try:
            self.client.cancel(list(self._pending), force=True)
            if self.cluster is None:
                self.client.run(shutdown_pools, on_error="ignore")
        finally:
            self.client.close(timeout=5)
            self._close_cluster()

    def close(self) -> None:
        """After the last pair: the workers' pools are stopped; an embedded cluster is shut down."""
        try:
            self.client.run(shutdown_pools, on_error="ignore")
        finally:
            self.client.close(timeout=5)
            self._close_cluster()

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close(timeout=10)
