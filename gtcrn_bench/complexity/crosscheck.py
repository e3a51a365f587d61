"""What the usual counting tools report for the same model, and what each of them leaves out.

Runs the installed ptflops and fvcore (each reported as "not installed" when
absent) on the offline module over the same frames as the project's own
``ptflops-0.7`` count, and lists what they skip: for ptflops, the module types
it has no hook for and the tensor code outside modules; for fvcore, the
operators it does not support (among them every GRU).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import inspect
import io
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from torch import Tensor, nn

from gtcrn_bench.complexity.conventions import EXACT, PTFLOPS_07
from gtcrn_bench.complexity.measurement import measure, supports
from gtcrn_bench.complexity.modules import count_module
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Countable


@dataclass(frozen=True)
class ToolCount:
    """One tool's MAC count of the model (None when the tool is missing or failed) and what it left out."""

    tool: str
    version: str | None
    macs: int | None
    missed: list[str] = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _tensor_code(module: nn.Module, inputs: tuple[Tensor, ...]) -> list[str]:
    """Products written as tensor code outside modules, as ``op xN`` (what module hooks cannot see)."""
    calls: Counter[str] = Counter()
    for row in count_module(module, inputs, EXACT).layers:
        if " in " in row.op:
            calls[row.op.split(" in ")[0]] += row.calls
    return [f"{op} x{n} (tensor code)" for op, n in calls.items()]


def _ptflops(module: nn.Module, inputs: tuple[Tensor, ...]) -> ToolCount:
    installed = _installed("ptflops")
    if installed is None:
        return ToolCount("ptflops", None, None, note="not installed (pip install ptflops==0.7)")
    ptflops = importlib.import_module("ptflops")
    hooked = getattr(importlib.import_module("ptflops.pytorch_ops"), "MODULES_MAPPING", {})
    names = list(inspect.signature(module.forward).parameters)

    def constructor(_: Any) -> dict[str, Tensor]:
        return dict(zip(names, inputs, strict=False))

    with contextlib.redirect_stdout(io.StringIO()):  # ptflops prints its warnings with print()
        macs, _ = ptflops.get_model_complexity_info(
            copy.deepcopy(module), (1,), input_constructor=constructor, as_strings=False, print_per_layer_stat=False
        )
    leaves = Counter(type(m).__name__ for m in module.modules() if not any(True for _ in m.children()))
    unhooked = [f"{name} x{n} (no hook)" for name, n in leaves.items() if name not in {t.__name__ for t in hooked}]
    return ToolCount("ptflops", installed, int(macs), unhooked + _tensor_code(module, inputs))


def _fvcore(module: nn.Module, inputs: tuple[Tensor, ...]) -> ToolCount:
    installed = _installed("fvcore")
    if installed is None:
        return ToolCount("fvcore", None, None, note="not installed (pip install fvcore)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fvcore's import and JIT trace warn about torch.jit deprecation and shapes
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(copy.deepcopy(module), inputs)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = analysis.total()
    missed = [f"{op} x{n}" for op, n in analysis.unsupported_ops().most_common()]
    return ToolCount("fvcore", installed, int(macs), missed, note="1 'flop' = 1 MAC in fvcore")


def cross_check(countable: Countable, frames: int) -> list[ToolCount]:
    """Side by side over ``frames`` frames: this project's two conventions, the installed ptflops, fvcore."""
    if countable.utterance is None:
        raise ConfigError(
            f"--cross-check needs a PyTorch offline module (ptflops and fvcore count nn.Modules); "
            f"{countable.name} has none"
        )
    module, make_inputs = countable.utterance
    inputs = make_inputs(frames)
    ours = measure(countable, PTFLOPS_07, frames)
    rows = [ToolCount("gtcrn-bench ptflops-0.7", None, ours.macs, ours.count.uncounted)]
    if supports(countable, EXACT):
        step = measure(countable, EXACT)
        rows.append(
            ToolCount("gtcrn-bench exact", None, step.macs * frames, note=f"{frames} streaming frames x {step.macs:,}")
        )
    return [*rows, _ptflops(module, inputs), _fvcore(module, inputs)]
