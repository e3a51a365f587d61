"""GTCRN, one frame per call, fast in PyTorch: the export-oriented module with lean recurrences, frozen TorchScript.

Per frame the streaming model is ~400 tiny operators; in PyTorch their
dispatch costs far more than their arithmetic. Starting from
:class:`~gtcrn_bench.models.export_stream.ExportStreamGTCRN` (batch norm
folded, Conv1d only, block-diagonal fused GRU pairs), this module:

- replaces ``nn.GRU`` calls, whose CPU kernel spends ~12 operators per time
  step and direction, by GRU steps written with fused operators (``baddbmm``
  with the input projection as its bias, ``addcmul``, ``lerp``): 7 per step,
  both directions of the bidirectional intra-frame GRU in one batched step
  (input projections of all steps precomputed in one ``baddbmm``);
- replaces the dilated depthwise temporal convolutions (a grouped Conv1d over
  all 2d + 1 cached frames, most taps zero; oneDNN takes ~50 us per call on
  these shapes) by one batched matrix product over the three frames the
  kernel actually reads;
- traces the result (static shapes, loops unrolled) and freezes it, so weights
  are constants and the graph runs without Python.

Numbers equal the other forms to float32 round-off (waveform within 3e-7 of
StreamGTCRN's, 7e-7 of the offline model's, measured on real files;
tests/test_fast_stream.py, tests/test_model.py). Batch 1, like the published interface.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gtcrn_bench.models.export_stream import WIDTH, DPGRNNStep, GTBlockStep, TemporalConv, to_export_stream
from gtcrn_bench.models.gtcrn import CHANNELS, GTCRN
from gtcrn_bench.models.stream import zero_caches


def _constant(tensor: Tensor) -> nn.Parameter:
    return nn.Parameter(tensor.detach().clone().contiguous(), requires_grad=False)


def _check_single_layer(gru: nn.GRU, bidirectional: bool) -> None:
    if gru.num_layers != 1 or not gru.bias or gru.bidirectional != bidirectional:
        raise ValueError(f"expected a one-layer GRU with biases, bidirectional={bidirectional}; got {gru}")


def gate_weights(gru: nn.GRU, suffix: str) -> dict[str, Tensor]:
    """One direction's weights, transposed for ``x @ w``, with the hidden biases of r and z moved to the input side.

    (r and z see ``W_i x + b_i + W_h h + b_h``, so their two biases add; n's
    hidden bias stays with ``W_hn h``, which r multiplies.)
    """
    hs = gru.hidden_size
    b_ih, b_hh = getattr(gru, f"bias_ih{suffix}").detach(), getattr(gru, f"bias_hh{suffix}").detach()
    w_hh = getattr(gru, f"weight_hh{suffix}").detach().t()
    return {
        "w_ih": getattr(gru, f"weight_ih{suffix}").detach().t(),  # (I, 3H)
        "b_i": torch.cat([b_ih[: 2 * hs] + b_hh[: 2 * hs], b_ih[2 * hs :]]),  # (3H,)
        "w_h_rz": w_hh[:, : 2 * hs],  # (H, 2H)
        "w_h_n": w_hh[:, 2 * hs :],  # (H, H)
        "b_h_n": b_hh[2 * hs :],  # (H,)
    }


class GRUStep(nn.Module):
    """One time step of a one-layer unidirectional ``nn.GRU``: ``(x, h) -> (h_new, h_new)`` shaped like ``h``.

    Stands in for calls on a length-1 sequence (batch-first or not: with one
    step both layouts hold the same numbers); returns (output, state) as ``nn.GRU`` does.
    """

    def __init__(self, gru: nn.GRU) -> None:
        super().__init__()
        _check_single_layer(gru, bidirectional=False)
        self.hidden = gru.hidden_size
        for name, value in gate_weights(gru, "_l0").items():
            setattr(self, name, _constant(value))

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        hs = self.hidden
        h2 = h.reshape(-1, hs)
        i_rz, i_n = torch.addmm(self.b_i, x.reshape(h2.shape[0], -1), self.w_ih).split([2 * hs, hs], dim=1)
        r, z = torch.sigmoid(torch.addmm(i_rz, h2, self.w_h_rz)).chunk(2, dim=1)
        n = torch.tanh(torch.addcmul(i_n, r, torch.addmm(self.b_h_n, h2, self.w_h_n)))
        h_new = torch.lerp(n, h2, z).reshape(h.shape)  # (1 - z) * n + z * h
        return h_new, h_new


class BidirectionalGRUScan(nn.Module):
    """A one-layer bidirectional ``nn.GRU`` over a (T, 1, I) sequence from zero state -> ((T, 1, 2H), (2, 1, H)).

    Both directions advance together as a batch of two; the reverse one reads
    the input projections in reversed order. Per step: two batched products
    (r and z with the input projection as their bias; n's hidden part), one
    sigmoid, one tanh, one fused multiply-add and one ``lerp``.
    """

    def __init__(self, gru: nn.GRU, steps: int = WIDTH) -> None:
        super().__init__()
        _check_single_layer(gru, bidirectional=True)
        self.hidden = gru.hidden_size
        self.steps = steps  # fixed: tracing unrolls the loop
        directions = [gate_weights(gru, suffix) for suffix in ("_l0", "_l0_reverse")]
        for name in directions[0]:
            stacked = torch.stack([d[name] for d in directions])
            setattr(self, name, _constant(stacked if stacked.dim() == 3 else stacked.unsqueeze(1)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        hs, steps = self.hidden, self.steps
        seq = x.reshape(steps, -1)
        gi = torch.baddbmm(self.b_i, torch.stack([seq, seq.flip(0)]), self.w_ih)  # (2, T, 3H)
        gi_rz, gi_n = gi.split([2 * hs, hs], dim=2)
        rz_steps, n_steps = gi_rz.unsqueeze(2).unbind(1), gi_n.unsqueeze(2).unbind(1)  # T x (2, 1, .)
        h = torch.zeros(2, 1, hs)
        states = []
        for t in range(steps):
            r, z = torch.sigmoid(torch.baddbmm(rz_steps[t], h, self.w_h_rz)).chunk(2, dim=2)
            n = torch.tanh(torch.addcmul(n_steps[t], r, torch.baddbmm(self.b_h_n, h, self.w_h_n)))
            h = torch.lerp(n, h, z)
            states.append(h)
        both = torch.cat(states, dim=1)  # (2, T, H)
        out = torch.cat([both[0], both[1].flip(0)], dim=1).reshape(steps, 1, 2 * hs)
        return out, h


class TapConv(nn.Module):
    """:class:`TemporalConv` computed from its three non-zero kernel rows only (frames 0, d and 2d of the window).

    The three frames, zero-padded by one bin, are unfolded into (16, 9, 33)
    and multiplied by each channel's 9 taps in one batched matrix product.
    """

    def __init__(self, conv: TemporalConv) -> None:
        super().__init__()
        self.frames = conv.frames
        self.dilation = (conv.frames - 1) // 2
        self.weight = _constant(conv.weight[:, :: self.dilation].reshape(CHANNELS, 1, 9))
        self.bias = _constant(conv.bias.reshape(CHANNELS, 1, 1))
        self.slope = conv.slope

    def forward(self, window: Tensor) -> Tensor:
        taps = window.reshape(CHANNELS, self.frames, WIDTH)[:, :: self.dilation]  # (16, 3, 33)
        unfolded = F.pad(taps, (1, 1)).unfold(2, WIDTH, 1).reshape(CHANNELS, 9, WIDTH)
        y = torch.baddbmm(self.bias, self.weight, unfolded).reshape(1, CHANNELS, WIDTH)
        return F.leaky_relu(y, self.slope)


def _lean(block: GTBlockStep | DPGRNNStep) -> None:
    """Swap a block's GRUs and temporal convolution for the lean forms above, in place."""
    if isinstance(block, GTBlockStep):
        block.att_gru = GRUStep(block.att_gru)
        block.temporal = TapConv(block.temporal)
    else:
        block.intra_rnn = BidirectionalGRUScan(block.intra_rnn)
        block.inter_rnn = GRUStep(block.inter_rnn)


def to_lean_stream(offline: GTCRN) -> nn.Module:
    """The export-oriented module with the lean recurrences and tap convolutions, not traced.

    It has no ``nn.GRU`` left, which converters without a batched GRU (ncnn) need.
    """
    module = to_export_stream(offline)
    for block in [*module.encoder, *module.decoder, module.dpgrnn1, module.dpgrnn2]:
        _lean(block)
    return module.eval()


def to_fast_stream(offline: GTCRN) -> torch.jit.ScriptModule:
    """The frozen TorchScript frame-by-frame GTCRN (published interface) built from an offline model's weights.

    Call it under ``torch.inference_mode()``; like the other forms it never
    modifies the caches it is given and returns new ones.
    """
    module = to_lean_stream(offline)
    example = (torch.zeros(1, 257, 1, 2), *zero_caches())
    # TorchScript is deprecated in favour of torch.compile, which measured worse here for this model:
    # ~2 minutes of compilation and 1.7 ms per frame against ~1.2 ms frozen (torch 2.13, one thread)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.jit")
        traced = torch.jit.trace(module, example, check_trace=False)
        return torch.jit.freeze(traced)
