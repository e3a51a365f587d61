"""Model complexity: MACs under named conventions (PyTorch modules and ONNX graphs) and parameter counts.

See ``docs/complexity.md`` for what each convention counts and why the
published "33.0 MMACs/s" of GTCRN is ``ptflops-0.7`` over 63 frames.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names resolve on first use (PEP 562), so importing a light submodule such as
# ``conventions`` (the CLI does, at start-up) does not import torch.
_EXPORTS = {
    "CONVENTIONS": "conventions",
    "EXACT": "conventions",
    "PTFLOPS_07": "conventions",
    "Convention": "conventions",
    "Complexity": "measurement",
    "measure": "measurement",
    "runner_complexity": "measurement",
    "LayerCount": "modules",
    "OpCount": "modules",
    "count_module": "modules",
    "count_onnx": "onnx_count",
    "ParamCount": "params",
    "module_params": "params",
    "onnx_params": "params",
    "runner_figures": "measurement",
    "supports": "measurement",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "CONVENTIONS",
    "EXACT",
    "PTFLOPS_07",
    "Complexity",
    "Convention",
    "LayerCount",
    "OpCount",
    "ParamCount",
    "count_module",
    "count_onnx",
    "measure",
    "module_params",
    "onnx_params",
    "runner_complexity",
    "runner_figures",
    "supports",
]
