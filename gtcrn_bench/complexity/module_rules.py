"""Per-convention rules for PyTorch modules, and the ``exact`` rules for tensor code outside modules.

A rule maps (module, call inputs, call output) to MACs; types whose rule is
:func:`no_macs` cost nothing. A called module with weights of its own and no
rule is reported as uncounted by the counter rather than taken as zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from gtcrn_bench.complexity.formulas import (
    conv_macs,
    dense_conv_macs,
    normalization_macs,
    power_macs,
    rnn_step_macs,
)

Rule = Callable[[nn.Module, tuple[Any, ...], Any], int]

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
RNN_TYPES = (nn.RNN, nn.GRU, nn.LSTM)
RNN_KINDS = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "GRU": "GRU", "LSTM": "LSTM"}
#: ptflops 0.7's extra per-step terms per hidden unit (gate additions and products, as it tallies them)
PTFLOPS_RNN_EXTRA = {"RNN": 1, "GRU": 7, "LSTM": 10}


def no_macs(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """No multiply-accumulates: nonlinearities and data movement."""
    return 0


def _first(value: Any) -> Any:
    """The first element of a module's output tuple (RNNs return (output, state))."""
    return value[0] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class ConvCall:
    """The geometry of one (transposed) convolution, from a module or from ``F.conv*`` arguments."""

    weight_shape: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    transposed: bool

    @classmethod
    def of_module(cls, conv: nn.Module) -> ConvCall:
        return cls(tuple(conv.weight.shape), conv.stride, conv.padding, conv.dilation, conv.groups, conv.transposed)

    @classmethod
    def of_function(cls, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ConvCall:
        """From the arguments of ``F.conv{1,2,3}d`` or ``F.conv_transpose{1,2,3}d`` (whose orders differ)."""
        transposed = name.startswith("conv_transpose")
        names = _CONV_T_ARGS if transposed else _CONV_ARGS
        bound = {**dict(zip(names, args, strict=False)), **kwargs}
        weight = bound["weight"]
        nd = weight.dim() - 2
        padding = bound.get("padding", 0)
        return cls(
            tuple(weight.shape),
            _per_axis(bound.get("stride", 1), nd),
            padding if isinstance(padding, str) else _per_axis(padding, nd),
            _per_axis(bound.get("dilation", 1), nd),
            int(bound.get("groups", 1)),
            transposed,
        )

    @property
    def kernel(self) -> tuple[int, ...]:
        return self.weight_shape[2:]

    @property
    def channels(self) -> tuple[int, int]:
        """(in, out): a convolution's weight is (out, in/groups, ...), a transposed one's (in, out/groups, ...)."""
        first, second = self.weight_shape[:2]
        return (first, second * self.groups) if self.transposed else (second * self.groups, first)

    def pad_begin(self) -> list[int]:
        """Zero padding before the first position per axis ('same' puts the odd one at the end, as torch does)."""
        if self.padding == "valid":
            return [0] * len(self.kernel)
        if self.padding == "same":
            return [d * (k - 1) // 2 for k, d in zip(self.kernel, self.dilation, strict=True)]
        return list(self.padding)

    def geometry(self, x: Tensor, y: Tensor) -> tuple[int, list[int], list[int]]:
        """Batch size (1 for unbatched input), input and output spatial sizes."""
        nd = len(self.kernel)
        spatial_in, spatial_out = list(x.shape[-nd:]), list(y.shape[-nd:])
        return x.numel() // (self.channels[0] * math.prod(spatial_in)), spatial_in, spatial_out

    def exact(self, x: Tensor, y: Tensor) -> int:
        """Products of weights with real (not zero-padding) input that reach a kept output."""
        batch, spatial_in, spatial_out = self.geometry(x, y)
        in_ch, out_ch = self.channels
        geometry = (self.kernel, self.stride, self.dilation, self.pad_begin())
        return conv_macs(batch, in_ch, out_ch, self.groups, spatial_in, spatial_out, *geometry, self.transposed)

    def dense(self, x: Tensor, y: Tensor) -> int:
        """Every output position times the whole kernel (ptflops' rule)."""
        batch, _, spatial_out = self.geometry(x, y)
        in_ch, out_ch = self.channels
        return dense_conv_macs(batch, in_ch, out_ch, self.groups, spatial_out, self.kernel)


_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_T_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


def _per_axis(value: int | tuple[int, ...] | list[int], nd: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * nd


def conv_exact(conv: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """See :meth:`ConvCall.exact`; padding by reflection, replication or wrapping is real input (dense count)."""
    call = ConvCall.of_module(conv)
    if conv.padding_mode != "zeros":
        return call.dense(inputs[0], output)
    return call.exact(inputs[0], output)


def conv_ptflops(conv: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """Output positions x kernel x channels, plus one bias add per output element (transposed ones alike)."""
    bias = output.numel() if conv.bias is not None else 0  # out channels x output positions x batch
    return ConvCall.of_module(conv).dense(inputs[0], output) + bias


def linear_exact(linear: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """One product per output element and input feature; the bias is an addition."""
    return output.numel() * linear.in_features


def linear_ptflops(linear: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """Input elements x output features, plus the bias counted once (not once per row)."""
    return inputs[0].numel() * linear.out_features + (linear.out_features if linear.bias is not None else 0)


def _rnn_steps(x: Any) -> int:
    """Time steps x sequences the RNN ran (batched, unbatched or packed input)."""
    if isinstance(x, PackedSequence):
        return x.data.shape[0]
    return x.shape[0] * x.shape[1] if x.dim() == 3 else x.shape[0]


def rnn_exact(rnn: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """Every layer and direction: input and recurrent products, all gates, plus the gate products."""
    kind = RNN_KINDS[rnn.mode]
    directions = 2 if rnn.bidirectional else 1
    proj = getattr(rnn, "proj_size", 0)
    out_size = proj or rnn.hidden_size
    per_step = 0
    for layer in range(rnn.num_layers):
        input_size = rnn.input_size if layer == 0 else out_size * directions
        per_step += rnn_step_macs(kind, input_size, rnn.hidden_size, out_size) + rnn.hidden_size * proj
    return _rnn_steps(inputs[0]) * directions * per_step


def rnn_ptflops(rnn: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """ptflops 0.7: per step, the forward direction's weight and bias sizes plus its gate terms, x2 if bidirectional."""
    kind = RNN_KINDS[rnn.mode]
    per_step = 0
    for layer in range(rnn.num_layers):
        per_step += getattr(rnn, f"weight_ih_l{layer}").numel() + getattr(rnn, f"weight_hh_l{layer}").numel()
        per_step += PTFLOPS_RNN_EXTRA[kind] * rnn.hidden_size
        if rnn.bias:
            per_step += getattr(rnn, f"bias_ih_l{layer}").numel() + getattr(rnn, f"bias_hh_l{layer}").numel()
    return _rnn_steps(inputs[0]) * per_step * (2 if rnn.bidirectional else 1)


def batch_norm_ptflops(bn: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """Input elements, twice when affine."""
    return inputs[0].numel() * (2 if bn.affine else 1)


def layer_norm_exact(ln: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """See :func:`~gtcrn_bench.complexity.formulas.normalization_macs`; one group per normalised slice."""
    numel = inputs[0].numel()
    return normalization_macs(numel, numel // math.prod(ln.normalized_shape), ln.elementwise_affine)


def elements(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    """One per output element (a PReLU's or LeakyReLU's slope product; ptflops' count for activations and LayerNorm)."""
    return _first(output).numel()


# Batch norm is 0 under ``exact``: at inference it folds into the preceding convolution's weights and bias
# (the published GTCRN ONNX graph has it folded in the encoder).
EXACT_RULES: dict[type[nn.Module], Rule] = {
    **dict.fromkeys(CONV_TYPES, conv_exact),
    nn.Linear: linear_exact,
    **dict.fromkeys(RNN_TYPES, rnn_exact),
    **dict.fromkeys((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), no_macs),
    nn.LayerNorm: layer_norm_exact,
    **dict.fromkeys((nn.PReLU, nn.LeakyReLU), elements),
    **dict.fromkeys((nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Unfold, nn.Identity, nn.Dropout, nn.Flatten), no_macs),
}

# ptflops 0.7 looks for an ``affine`` attribute, which LayerNorm does not have: it counts one per element.
PTFLOPS_07_RULES: dict[type[nn.Module], Rule] = {
    **dict.fromkeys(CONV_TYPES, conv_ptflops),
    nn.Linear: linear_ptflops,
    **dict.fromkeys(RNN_TYPES, rnn_ptflops),
    **dict.fromkeys((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), batch_norm_ptflops),
    nn.LayerNorm: elements,
    **dict.fromkeys((nn.PReLU, nn.LeakyReLU, nn.ReLU), elements),
    **dict.fromkeys((nn.Tanh, nn.Sigmoid, nn.Unfold, nn.Identity, nn.Dropout, nn.Flatten), no_macs),
}

RULES = {"exact": EXACT_RULES, "ptflops-0.7": PTFLOPS_07_RULES}


def rule_for(rules: dict[type[nn.Module], Rule], module: nn.Module) -> Rule | None:
    """The rule of the module's class or its nearest listed base class."""
    for cls in type(module).__mro__:
        if cls in rules:
            return rules[cls]
    return None


# Tensor code outside modules, by the name torch gives the function or method.
_PRODUCTS = {"mul", "__mul__", "__rmul__", "__imul__", "mul_", "multiply"}
_DIVISIONS = {"div", "__truediv__", "__rtruediv__", "__itruediv__", "div_", "divide", "true_divide"}
_POWERS = {"pow", "__pow__", "__ipow__", "pow_", "square"}
_MATRIX = {"matmul", "__matmul__", "mm", "bmm"}
_BIASED_MATRIX = {"addmm", "baddbmm"}  # bias + mat1 @ mat2: the matrices are the second and third arguments
_CONVS = {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
_SLOPES = {"prelu", "leaky_relu"}  # one slope product per element, as the PReLU / LeakyReLU modules
#: functions with products that no rule here counts: reported as uncounted when called outside modules
UNRULED_FUNCTIONS = {
    "einsum", "tensordot", "bilinear", "scaled_dot_product_attention", "multi_head_attention_forward",
    "group_norm", "instance_norm", "addcmul", "addcdiv", "gru", "lstm", "rnn_tanh", "rnn_relu",
}  # fmt: skip


def _exponent(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    """The exponent of a power whose base is a tensor (a scalar base is an exponential: None)."""
    if name == "square":
        return 2.0
    if not isinstance(args[0], Tensor):
        return None
    exponent = args[1] if len(args) > 1 else kwargs.get("exponent")
    if isinstance(exponent, Tensor):
        return float(exponent.item()) if exponent.numel() == 1 else None
    return float(exponent) if isinstance(exponent, (int, float)) else None


def functional_exact(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int | None:
    """MACs of one torch function or tensor method call under ``exact``: 0 for what is no product,
    None for a function in :data:`UNRULED_FUNCTIONS`.

    Element-wise products and divisions: one per output element; x ** n: n - 1
    per element; mean: one 1/N scale per output element; matrix products
    (also ``addmm``) and ``F.linear``: one per output element and inner index; ``F.conv*``: as the
    convolution modules; ``F.layer_norm`` as the LayerNorm module; ``F.batch_norm`` 0 (folded).
    """
    if name in UNRULED_FUNCTIONS:
        return None
    if not isinstance(out, Tensor):
        return 0
    if name in _PRODUCTS or name in _DIVISIONS or name in _SLOPES or name == "mean":
        return out.numel()
    if name in _POWERS:
        exponent = _exponent(name, args, kwargs)
        return 0 if exponent is None else power_macs(out.numel(), exponent)
    if name in _MATRIX:
        return out.numel() * args[0].shape[-1]
    if name in _BIASED_MATRIX:
        return out.numel() * args[1].shape[-1]
    if name in _CONVS:
        return ConvCall.of_function(name, args, kwargs).exact(args[0], out)
    if name == "linear":
        weight = args[1] if len(args) > 1 else kwargs["weight"]
        return out.numel() * weight.shape[-1]
    if name == "layer_norm":
        shape = args[1] if len(args) > 1 else kwargs["normalized_shape"]
        weight = args[2] if len(args) > 2 else kwargs.get("weight")
        return normalization_macs(out.numel(), out.numel() // math.prod(shape), weight is not None)
    return 0
