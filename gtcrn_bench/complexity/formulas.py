"""The arithmetic of counting: multiply-accumulates of one operation, from shapes alone.

Shared by the PyTorch-module counter and the ONNX-graph counter, so that both
sides of the ``exact`` convention apply literally the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: gate blocks of one recurrent step (rows of W_ih / W_hh in units of the hidden size)
RNN_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
#: element-wise products of one recurrent step per hidden unit:
#: GRU r*(W_hn h + b_hn), z*h, (1 - z)*n; LSTM f*c, i*g, o*tanh(c); plain RNN none
RNN_GATE_PRODUCTS = {"RNN": 0, "GRU": 3, "LSTM": 3}


def axis_pairs(n_in: int, n_out: int, kernel: int, stride: int, dilation: int, pad_begin: int, transposed: bool) -> int:
    """(position, tap) pairs of one spatial axis whose product joins real input to a kept output.

    Convolution: output o and tap k read input ``o*stride + k*dilation - pad_begin``;
    products with zero padding are not counted. Transposed convolution: input i
    and tap k write output ``i*stride + k*dilation - pad_begin``; products that
    land in cropped-away positions are not counted. A stride-1 transposed
    convolution and the convolution with the flipped kernel therefore count the
    same, whatever padding each form needs.
    """
    positions, limit = (n_in, n_out) if transposed else (n_out, n_in)
    pairs = 0
    for k in range(kernel):
        offset = k * dilation - pad_begin  # position p meets index p*stride + offset
        first = max(0, -(offset // stride))  # smallest p with p*stride + offset >= 0
        last = min(positions - 1, (limit - 1 - offset) // stride)
        pairs += max(0, last - first + 1)
    return pairs


def conv_macs(
    batch: int,
    in_channels: int,
    out_channels: int,
    groups: int,
    spatial_in: Sequence[int],
    spatial_out: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    pad_begin: Sequence[int],
    transposed: bool,
) -> int:
    """Products of weights with real inputs that reach a kept output, of a (transposed) convolution."""
    pairs = math.prod(
        axis_pairs(i, o, k, s, d, p, transposed)
        for i, o, k, s, d, p in zip(spatial_in, spatial_out, kernel, stride, dilation, pad_begin, strict=True)
    )
    return batch * in_channels * (out_channels // groups) * pairs


def dense_conv_macs(
    batch: int, in_channels: int, out_channels: int, groups: int, spatial_out: Sequence[int], kernel: Sequence[int]
) -> int:
    """Every output position times the whole kernel, padding included (ptflops' rule, also for transposed)."""
    return batch * math.prod(spatial_out) * math.prod(kernel) * in_channels * (out_channels // groups)


def rnn_step_macs(kind: str, input_size: int, hidden: int, recurrent_size: int | None = None) -> int:
    """One time step of one direction of one layer: input and recurrent matrix products plus gate products.

    ``recurrent_size`` is what the recurrent matrix multiplies (the hidden size,
    or an LSTM's projection size).
    """
    recurrent = hidden if recurrent_size is None else recurrent_size
    return RNN_GATES[kind] * hidden * (input_size + recurrent) + RNN_GATE_PRODUCTS[kind] * hidden


def normalization_macs(numel: int, groups: int, affine: bool) -> int:
    """Inference-time layer/group/instance norm computed from its statistics.

    Per element: the square in the variance, the division by the standard
    deviation and, if affine, the scale; per normalised group: the two 1/N of
    the mean and the variance. Sums, subtractions and the square root are not MACs.
    """
    return 2 * numel + 2 * groups + (numel if affine else 0)


def power_macs(numel: int, exponent: float) -> int:
    """x ** n for a whole n >= 1 is n - 1 products per element; other exponents are transcendental (0)."""
    if float(exponent).is_integer() and exponent >= 1:
        return numel * (int(exponent) - 1)
    return 0
