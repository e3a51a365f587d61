"""Thread control, in one place: one count applied to torch, the BLAS/OpenMP pools and a runner's own libraries.

torch's intra-op pool is process-wide (``torch.set_num_threads``, settable at
any time). Its inter-op pool is too, but ``torch.set_num_interop_threads``
works only once per process and only before any inter-op work has started;
it is set when torch still allows it, and otherwise left as it is, with the
reason recorded. Libraries that fix their threads when a session is built
(onnxruntime, sherpa-onnx) get the count through the runner's declared
:attr:`~gtcrn_bench.runners.base.Runner.thread_param` when
:func:`gtcrn_bench.runners.registry.build` makes the runner. What the libraries
report afterwards (:meth:`~gtcrn_bench.runners.base.Runner.thread_settings`)
is recorded, not what was asked for.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Runner


def _set_torch_interop(threads: int) -> str | None:
    """Set torch's inter-op thread count if torch still allows it; None when it is ``threads``, else why not."""
    if torch.get_num_interop_threads() == threads:  # reading the count does not start the pool
        return None
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # set before in this process, or inter-op work has already started
        return (
            f"left at {torch.get_num_interop_threads()}: torch sets inter-op threads once per process, "
            "before any inter-op work, and that moment had passed"
        )
    return None


def set_torch_threads(threads: int) -> dict[str, Any]:
    """torch's intra-op and (where still allowed) inter-op thread counts for this process.

    Returns what was asked for, to record next to what torch reports: ``torch_inter_op_requested``
    and, when the inter-op count could not be set, ``torch_inter_op_not_set`` with the reason.
    """
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    reason = _set_torch_interop(threads)
    return {"torch_inter_op_requested": threads} | ({"torch_inter_op_not_set": reason} if reason else {})


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def thread_environment(threads: int) -> None:
    """Export the thread limits, so processes spawned afterwards start with them (BLAS reads them at load)."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


def limit_process_threads(threads: int) -> dict[str, Any]:
    """Pin this process to ``threads`` threads: torch, the BLAS/OpenMP pools already loaded, and later sessions.

    threadpoolctl caps the pools numpy/scipy loaded before this call (an
    environment variable set now would come too late for them); onnxruntime
    sessions created later with their default count (DNSMOS) read
    ``OMP_NUM_THREADS``. Without this, one suite worker used 1.4 cores for no
    speed-up and two workers oversubscribed the CPU. Returns what
    :func:`set_torch_threads` returns.
    """
    from threadpoolctl import threadpool_limits

    thread_environment(threads)
    requested = set_torch_threads(threads)
    threadpool_limits(threads)
    return requested


def thread_report(runner: Runner) -> dict[str, Any]:
    """Thread counts as the libraries report them: torch's, and the runner's own (e.g. onnxruntime sessions)."""
    return {
        "torch_intra_op": torch.get_num_threads(),
        "torch_inter_op": torch.get_num_interop_threads(),
        "runner": runner.thread_settings(),
        "runner_param": {k: v for k, v in runner.params().items() if k == runner.thread_param},
    }


def check_threads(runner: Runner, threads: int) -> None:
    """Refuse to time a runner whose libraries report another intra-op count than ``threads``."""
    for component, counts in runner.thread_settings().items():
        actual = counts.get("intra_op")
        if actual is not None and actual != threads:
            raise ConfigError(
                f"runner '{runner.name}': {component} uses {actual} intra-op threads, not {threads}; "
                f"build it with {runner.thread_param or 'its thread parameter'}={threads}"
            )
