"""Counting an ONNX graph's MACs under the ``exact`` convention, from shapes found by ONNX shape inference.

So exported or third-party models can be measured without their Python
source. The rules are those of :mod:`.formulas`, applied per node: for GTCRN
the published per-frame graph counts exactly what the PyTorch streaming module
counts, although the two express some layers differently (the graph's decoder
runs padded transposed convolutions where the module runs causal convolutions,
its encoder has BatchNorm folded into the convolutions, its LayerNorm is split
into ReduceMean, Pow, Div and Mul nodes).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from gtcrn_bench.complexity.formulas import conv_macs, normalization_macs, power_macs, rnn_step_macs
from gtcrn_bench.complexity.modules import LayerCount, OpCount
from gtcrn_bench.errors import CheckpointError, GtcrnBenchError
from gtcrn_bench.onnxrt import open_session, session_options

#: ops that move, select, add, compare or apply a nonlinearity: no multiply-accumulates
FREE_OPS = frozenset(
    "Abs Add And Cast Ceil Clip Concat Constant ConstantOfShape Dropout Equal Erf Exp Expand Flatten Floor Gather "  # noqa: SIM905
    "GatherElements GatherND Greater GreaterOrEqual Identity Less LessOrEqual Log Max Min Neg Not Or Pad Range "
    "ReduceMax ReduceMin ReduceSum Relu Reshape Round ScatterElements ScatterND Shape Sigmoid Sign Size Slice Split "
    "Sqrt Squeeze Sub Tanh Tile Transpose Unsqueeze Where".split()
)


def _is_float(elem_type: int) -> bool:
    return elem_type != 0 and np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)).kind == "f"


class _Graph:
    """A graph's static shapes, floating-point values and constants: from ONNX shape inference, else from a run."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
        self.shapes: dict[str, list[int]] = {}
        self.floating: set[str] = set()
        for info in [*graph.input, *graph.value_info, *graph.output]:
            tensor = info.type.tensor_type
            if _is_float(tensor.elem_type):
                self.floating.add(info.name)
            if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
                self.shapes[info.name] = [d.dim_value for d in tensor.shape.dim]
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self._add_values(self.constants)
        self.notes: list[str] = []
        needed = {name for node in graph.node if node.op_type in RULES for name in (*node.input, *node.output) if name}
        open_shapes = needed - set(self.shapes)
        if open_shapes:
            self._add_values(_runtime_values(model))
            self.notes.append(f"shapes of {len(open_shapes)} values from one onnxruntime run on zeros")

    def _add_values(self, values: dict[str, np.ndarray]) -> None:
        self.shapes.update({name: list(value.shape) for name, value in values.items()})
        self.floating.update(name for name, value in values.items() if value.dtype.kind == "f")

    def shape(self, node: onnx.NodeProto, name: str) -> list[int]:
        if name not in self.shapes:
            raise GtcrnBenchError(f"ONNX node {node.name or node.op_type} ({node.op_type}): no shape for '{name}'")
        return self.shapes[name]

    def numel(self, node: onnx.NodeProto, name: str) -> int:
        return math.prod(self.shape(node, name))


def _runtime_values(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Every node output of one unoptimised onnxruntime run with all-zero inputs (for shapes and types).

    Used when shape inference cannot resolve shapes computed inside the graph
    (the Shape -> Gather -> Reshape chains of unsimplified exports).
    """
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    listed = {o.name for o in probe.graph.output}
    names = [o for node in probe.graph.node for o in node.output if o and o not in listed]
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    options = session_options(intra_threads=0, inter_threads=0, optimization="disable")  # the graph as written
    initializers = {t.name for t in probe.graph.initializer}
    feeds = {
        value.name: np.zeros(
            [d.dim_value for d in value.type.tensor_type.shape.dim],
            onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type),
        )
        for value in probe.graph.input
        if value.name not in initializers
    }
    try:
        session = open_session(probe.SerializeToString(), options)
        outputs = session.run(None, feeds)
    except Exception as exc:  # onnxruntime raises its own exception types, not exported for catching
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise GtcrnBenchError(
            f"shape inference left shapes open and onnxruntime could not run the graph: {first}"
        ) from exc
    return {info.name: np.asarray(value) for info, value in zip(session.get_outputs(), outputs, strict=True)}


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pad_begin(attrs: dict[str, object], totals: list[int]) -> list[int]:
    """Padding before the first position per axis; ``totals`` is each axis' total padding (for auto_pad)."""
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return [0] * len(totals)
    if auto == "SAME_UPPER":
        return [t // 2 for t in totals]
    if auto == "SAME_LOWER":
        return [t - t // 2 for t in totals]
    pads = list(attrs.get("pads", [0] * 2 * len(totals)))
    return pads[: len(totals)]


def _conv(g: _Graph, node: onnx.NodeProto, transposed: bool) -> int:
    x, w, y = g.shape(node, node.input[0]), g.shape(node, node.input[1]), g.shape(node, node.output[0])
    attrs = _attrs(node)
    nd = len(x) - 2
    kernel = w[2:]
    strides = list(attrs.get("strides", [1] * nd))
    dilations = list(attrs.get("dilations", [1] * nd))
    groups = int(attrs.get("group", 1))
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    if transposed:
        out_pad = list(attrs.get("output_padding", [0] * nd))
        totals = [s * (i - 1) + p + e - o for s, i, p, e, o in zip(strides, x[2:], out_pad, extent, y[2:], strict=True)]
        out_channels = w[1] * groups
    else:
        totals = [max(0, (o - 1) * s + e - i) for o, s, e, i in zip(y[2:], strides, extent, x[2:], strict=True)]
        out_channels = w[0]
    pad_begin = _pad_begin(attrs, totals)
    return conv_macs(x[0], x[1], out_channels, groups, x[2:], y[2:], kernel, strides, dilations, pad_begin, transposed)


def _matmul(g: _Graph, node: onnx.NodeProto) -> int:
    return g.numel(node, node.output[0]) * g.shape(node, node.input[0])[-1]


def _gemm(g: _Graph, node: onnx.NodeProto) -> int:
    a = g.shape(node, node.input[0])
    inner = a[0] if _attrs(node).get("transA", 0) else a[1]
    return g.numel(node, node.output[0]) * inner


def _rnn(kind: str) -> Callable[[_Graph, onnx.NodeProto], int]:
    def count(g: _Graph, node: onnx.NodeProto) -> int:
        x, w = g.shape(node, node.input[0]), g.shape(node, node.input[1])
        hidden = int(_attrs(node)["hidden_size"])
        per_step = rnn_step_macs(kind, w[2], hidden)
        if kind == "LSTM" and len(node.input) > 7 and node.input[7]:
            per_step += 3 * hidden  # peephole products
        return x[0] * x[1] * w[0] * per_step

    return count


def _layer_norm(g: _Graph, node: onnx.NodeProto) -> int:
    x = g.shape(node, node.input[0])
    axis = int(_attrs(node).get("axis", -1)) % len(x)
    return normalization_macs(math.prod(x), math.prod(x[:axis]), affine=True)


def _pow(g: _Graph, node: onnx.NodeProto) -> int | None:
    exponent = g.constants.get(node.input[1])
    if exponent is None or np.size(exponent) != 1:
        return None
    return power_macs(g.numel(node, node.output[0]), float(np.asarray(exponent).reshape(())))


def _elements(g: _Graph, node: onnx.NodeProto) -> int:
    return g.numel(node, node.output[0])


# BatchNormalization is 0, as under ``exact`` for modules: at inference it folds into the preceding convolution.
RULES: dict[str, Callable[[_Graph, onnx.NodeProto], int | None]] = {
    "Conv": lambda g, n: _conv(g, n, transposed=False),
    "ConvTranspose": lambda g, n: _conv(g, n, transposed=True),
    "MatMul": _matmul,
    "Gemm": _gemm,
    "GRU": _rnn("GRU"),
    "LSTM": _rnn("LSTM"),
    "RNN": _rnn("RNN"),
    "BatchNormalization": lambda g, n: 0,
    "LayerNormalization": _layer_norm,
    "PRelu": _elements,
    "LeakyRelu": _elements,
    "Mul": _elements,
    "Div": _elements,
    "ReduceMean": _elements,
    "Pow": _pow,
}


def load_graph(path: str | Path) -> onnx.ModelProto:
    """An ONNX model read from ``path``, with a clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such ONNX file")
    try:
        return onnx.load(str(path))
    except DecodeError as exc:
        raise CheckpointError(f"{path}: not an ONNX model (protobuf cannot decode it: {exc})") from exc


def fix_symbolic_inputs(model: onnx.ModelProto) -> list[str]:
    """Set every symbolic input dimension to 1 (a single frame, batch 1); returns the names that were fixed."""
    fixed = []
    for value in model.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if not dim.HasField("dim_value"):
                fixed.append(f"{value.name}:{dim.dim_param or '?'}")
                dim.dim_value = 1
    return fixed


def count_onnx(path: str | Path) -> OpCount:
    """MACs of one run of the graph under ``exact``; ops with MACs but no rule are listed as uncounted."""
    model = load_graph(path)
    fixed = fix_symbolic_inputs(model)
    graph = _Graph(model)
    layers, unknown = [], Counter()
    for node in model.graph.node:  # subgraphs (If, Loop, Scan) are not walked: those ops are reported uncounted
        rule = RULES.get(node.op_type)
        if rule is None:
            if node.op_type not in FREE_OPS:
                unknown[node.op_type] += 1
            continue
        if node.output[0] not in graph.floating:
            continue  # integer arithmetic is shape bookkeeping (Shape -> Mul -> Reshape), not the model's
        macs = rule(graph, node)
        if macs is None:
            unknown[f"{node.op_type} (non-constant exponent)"] += 1
            continue
        params = sum(graph.constants[name].size for name in node.input if name in graph.constants)
        layers.append(LayerCount(node.name or node.output[0], node.op_type, macs, 1, params))
    uncounted = [f"{op} x{n}" for op, n in unknown.items()]
    notes = [f"symbolic input dimension {name} taken as 1" for name in fixed] + graph.notes
    return OpCount(sum(row.macs for row in layers), layers, uncounted, notes)
