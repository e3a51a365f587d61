"""Thread settings for timing: one count applied to torch and to a runner's onnxruntime sessions, then read back.

torch's intra-op pool is process-wide (``torch.set_num_threads``, settable at
any time). Its inter-op pool is too, but ``torch.set_num_interop_threads``
works only once per process and only before any inter-op work has started;
it is set when torch still allows it, and otherwise left as it is, with the
reason recorded. onnxruntime fixes its threads per session when the session is
built, so the count goes to the runner's constructor parameter
(``intra_threads`` for gtcrn-onnx, ``threads`` for runners with one). What
the libraries report afterwards is recorded, not what was asked for.
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
