"""The published streaming interface of GTCRN's ONNX graph, and the check that a graph has it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtcrn_bench.errors import CheckpointError


@dataclass(frozen=True)
class TensorSpec:
    """Name, static shape and element type of one graph input or output."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: str = "float32"

    def __str__(self) -> str:
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name} ({dims}) {self.dtype}"


MIX_SHAPE = (1, 257, 1, 2)
CACHE_SHAPES = {"conv_cache": (2, 1, 16, 16, 33), "tra_cache": (2, 3, 1, 1, 16), "inter_cache": (2, 1, 33, 16)}
INPUTS = (TensorSpec("mix", MIX_SHAPE), *(TensorSpec(n, s) for n, s in CACHE_SHAPES.items()))
OUTPUTS = (TensorSpec("enh", MIX_SHAPE), *(TensorSpec(f"{n}_out", s) for n, s in CACHE_SHAPES.items()))
INPUT_NAMES = [t.name for t in INPUTS]
OUTPUT_NAMES = [t.name for t in OUTPUTS]

# onnxruntime's type strings for the element types a graph could declare
_ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16"}


def _spec_of(node_arg: Any) -> TensorSpec:
    """A TensorSpec from an onnxruntime ``NodeArg`` (symbolic dims stay strings)."""
    dtype = _ORT_TYPES.get(node_arg.type, node_arg.type.removeprefix("tensor(").removesuffix(")"))
    return TensorSpec(node_arg.name, tuple(node_arg.shape), dtype)


def _listing(specs: Sequence[TensorSpec]) -> str:
    return "[" + "; ".join(str(s) for s in specs) + "]" if specs else "[]"


def check_interface(session: Any, path: Path) -> None:
    """Raise :class:`CheckpointError` unless ``session`` has exactly the published inputs and outputs.

    The message lists what the graph has next to what is expected, so a user can
    see at once whether names, shapes (static, batch 1) or types differ.
    """
    inputs = [_spec_of(a) for a in session.get_inputs()]
    outputs = [_spec_of(a) for a in session.get_outputs()]
    if set(inputs) == set(INPUTS) and set(outputs) == set(OUTPUTS):
        return
    raise CheckpointError(
        f"{path}: not a GTCRN streaming graph with the published interface. "
        f"It has inputs {_listing(inputs)} and outputs {_listing(outputs)}; "
        f"expected inputs {_listing(INPUTS)} and outputs {_listing(OUTPUTS)}"
    )
