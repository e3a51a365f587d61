"""Thread settings for timing: one count applied to torch and to a runner's onnxruntime sessions, then read back.

torch's intra-op pool is process-wide (``torch.set_num_threads``); onnxruntime
fixes its threads per session when the session is built, so the count goes to
the runner's constructor parameter (``intra_threads`` for gtcrn-onnx,
``threads`` for runners with one). What the libraries report afterwards is
recorded, not what was asked for.
"""

from __future__ import annotations

from typing import Any

import torch

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner

#: constructor parameters that set a runner's thread count, in order of preference
THREAD_PARAMS = ("intra_threads", "threads")


def thread_param(cls: type[Runner]) -> str | None:
    """The constructor parameter through which ``cls`` takes its thread count (None: single-threaded library)."""
    names = {p.name for p in registry.params(cls)}
    return next((name for name in THREAD_PARAMS if name in names), None)


def with_threads(cls: type[Runner], params: dict[str, Any], threads: int) -> dict[str, Any]:
    """``params`` with the runner's thread parameter set to ``threads``; a different explicit value is an error."""
    name = thread_param(cls)
    if name is None:
        return dict(params)
    given = params.get(name)
    if given is not None and str(given) != str(threads):
        raise ConfigError(f"runner '{cls.name}': {name}={given} contradicts --threads {threads}; give one of them")
    return {**params, name: threads}


def set_torch_threads(threads: int) -> None:
    """torch's intra-op thread count for this process."""
    if threads < 1:
        raise ConfigError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)


def onnx_sessions(runner: Runner) -> dict[str, Any]:
    """The onnxruntime sessions a runner holds, by attribute name (directly or inside a ``FrameSession``)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return {}
    found = {}
    for attr, value in vars(runner).items():
        inner = getattr(value, "session", None)
        if isinstance(value, ort.InferenceSession):
            found[attr] = value
        elif isinstance(inner, ort.InferenceSession):
            found[f"{attr}.session"] = inner
    return found


def thread_report(runner: Runner) -> dict[str, Any]:
    """Thread counts as the libraries report them: torch's, and each onnxruntime session's options."""
    sessions = {}
    for name, session in onnx_sessions(runner).items():
        options = session.get_session_options()
        sessions[name] = {"intra_op": options.intra_op_num_threads, "inter_op": options.inter_op_num_threads}
    return {
        "torch_intra_op": torch.get_num_threads(),
        "torch_inter_op": torch.get_num_interop_threads(),
        "onnxruntime": sessions,
        "runner_param": {k: v for k, v in runner.params().items() if k in THREAD_PARAMS},
    }


def check_threads(runner: Runner, threads: int) -> None:
    """Refuse to time a runner whose onnxruntime sessions were built with another intra-op count."""
    for name, session in onnx_sessions(runner).items():
        actual = session.get_session_options().intra_op_num_threads
        if actual != threads:
            raise ConfigError(
                f"runner '{runner.name}': onnxruntime session {name} uses {actual} intra-op threads, not {threads}; "
                f"build it with {thread_param(type(runner)) or 'its thread parameter'}={threads}"
            )
