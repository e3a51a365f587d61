"""Model complexity: MACs under named conventions (PyTorch modules and ONNX graphs) and parameter counts.

See ``docs/complexity.md`` for what each convention counts and why the
published "33.0 MMACs/s" of GTCRN is ``ptflops-0.7`` over 63 frames.
"""

from gtcrn_bench.complexity.conventions import CONVENTIONS, EXACT, PTFLOPS_07, Convention
from gtcrn_bench.complexity.measure import Complexity, measure, runner_complexity
from gtcrn_bench.complexity.modules import LayerCount, OpCount, count_module
from gtcrn_bench.complexity.onnx_count import count_onnx
from gtcrn_bench.complexity.params import ParamCount, module_params, onnx_params
from gtcrn_bench.complexity.targets import Countable, countable_model, gtcrn_countable

__all__ = [
    "CONVENTIONS",
    "EXACT",
    "PTFLOPS_07",
    "Complexity",
    "Convention",
    "Countable",
    "LayerCount",
    "OpCount",
    "ParamCount",
    "count_module",
    "count_onnx",
    "countable_model",
    "gtcrn_countable",
    "measure",
    "module_params",
    "onnx_params",
    "runner_complexity",
]
