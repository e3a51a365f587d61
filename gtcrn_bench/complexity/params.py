"""Parameter counts: total, trainable, frozen (GTCRN's fixed ERB matrices), buffers, per top-level module.

GTCRN stores its two ERB filterbank matrices as parameters with
``requires_grad=False``: 48,245 parameters in all, of which 23,669 are trained
(the paper's 23.7 K) and 24,576 are the fixed matrices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onnx import TensorProto
from torch import nn

from gtcrn_bench.complexity.onnx_count import load_graph

ONNX_PARAMS_NOTE = "floating-point initializers and constants of the graph (BatchNorm may be folded, statistics count)"


@dataclass(frozen=True)
class ParamCount:
    """Parameter figures of a model; ``None`` where the source cannot tell (an ONNX graph has no trainable flag)."""

    total: int
    trainable: int | None = None
    frozen: int | None = None
    buffers: int | None = None
    frozen_tensors: list[str] = field(default_factory=list)
    by_module: dict[str, dict[str, int]] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split(module: nn.Module) -> dict[str, int]:
    params = list(module.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return {"total": sum(p.numel() for p in params), "trainable": trainable}


def module_params(model: nn.Module) -> ParamCount:
    """Counts of a PyTorch model; ``by_module`` has one entry per direct child (parameters shared once)."""
    whole = _split(model)
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    return ParamCount(
        total=whole["total"],
        trainable=whole["trainable"],
        frozen=whole["total"] - whole["trainable"],
        buffers=sum(b.numel() for b in model.buffers()),
        frozen_tensors=frozen,
        by_module={name: _split(child) for name, child in model.named_children()},
    )


def onnx_params(path: str | Path) -> ParamCount:
    """Numbers stored in an ONNX graph: every floating-point initializer and constant element."""
    graph = load_graph(path).graph
    tensors = [*graph.initializer, *(a.t for n in graph.node if n.op_type == "Constant" for a in n.attribute)]
    floating = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
    total = sum(math.prod(t.dims) for t in tensors if t.data_type in floating)
    return ParamCount(total=total, note=ONNX_PARAMS_NOTE)
