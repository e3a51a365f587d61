"""onnxruntime sessions, built one way for every user (runners, DNSMOS, the complexity counter).

onnxruntime is imported when a session is made, not when this module is, so
commands that never run a graph do not load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gtcrn_bench.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import onnxruntime as ort

#: graph optimisation levels by the names the CLI and runner parameters use
OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "layout", "all")
PROVIDERS = ["CPUExecutionProvider"]


def session_options(intra_threads: int = 1, inter_threads: int = 1, optimization: str = "all") -> ort.SessionOptions:
    """The options a deployer sets: thread counts (0 lets onnxruntime choose) and graph optimisation level.

    Execution is sequential: these graphs are single chains of small ops, and a
    parallel executor only adds scheduling cost.
    """
    import onnxruntime as ort

    if optimization not in OPTIMIZATION_LEVELS:
        raise ConfigError(f"optimization '{optimization}': choose one of {', '.join(OPTIMIZATION_LEVELS)}")
    if intra_threads < 0 or inter_threads < 0:
        raise ConfigError("thread counts must be >= 0 (0 lets onnxruntime choose)")
    levels = ort.GraphOptimizationLevel
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_threads
    options.inter_op_num_threads = inter_threads
    options.graph_optimization_level = {
        "disable": levels.ORT_DISABLE_ALL,
        "basic": levels.ORT_ENABLE_BASIC,
        "extended": levels.ORT_ENABLE_EXTENDED,
        "layout": levels.ORT_ENABLE_LAYOUT,
        "all": levels.ORT_ENABLE_ALL,
    }[optimization]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def open_session(model: str | Path | bytes, options: ort.SessionOptions | None = None) -> ort.InferenceSession:
    """A CPU session on an ONNX file (or serialised model), with a :class:`CheckpointError` naming the file."""
    import onnxruntime as ort
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    # what onnxruntime raises for models it cannot load (its exceptions derive from Exception only)
    load_errors = (
        state.Fail,
        state.InvalidArgument,
        state.InvalidGraph,
        state.InvalidProtobuf,
        state.NoSuchFile,
        state.NotImplemented,
        state.RuntimeException,
    )
    if isinstance(model, bytes):
        return ort.InferenceSession(model, options or session_options(), providers=PROVIDERS)
    path = Path(model)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such ONNX file")
    try:
        return ort.InferenceSession(str(path), options or session_options(), providers=PROVIDERS)
    except load_errors as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: onnxruntime cannot load it as an ONNX model ({first_line})") from exc


def session_threads(session: ort.InferenceSession) -> dict[str, int]:
    """The intra-op and inter-op thread counts a session was built with, as onnxruntime reports them."""
    options = session.get_session_options()
    return {"intra_op": options.intra_op_num_threads, "inter_op": options.inter_op_num_threads}
