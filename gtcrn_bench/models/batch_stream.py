"""GTCRN, one frame per call, with a leading batch axis of size 1 on every tensor: the form pnnx converts to ncnn.

ncnn has no batch axis. pnnx, which converts a traced PyTorch module to ncnn,
takes axis 0 of every tensor that reaches a Conv1d or Linear as the batch and
drops it; an operator along that axis cannot be written (its axis becomes -233
and ncnn refuses the file). The export form
(:class:`~gtcrn_bench.models.export_stream.ExportStreamGTCRN`) works batch-less
on (257, 2) spectra, (33, 16) band features and caches split along axis 0, so
here the same arithmetic is arranged so that axis 0 is always a batch of one
and only operators ncnn has a layer for appear:

- spectra, band features and caches carry the leading axis and are split and
  joined along axes >= 1;
- every product with a weight matrix is an ``nn.Linear`` on the last axis
  (ncnn's Gemm/InnerProduct), never a matrix on the left;
- a GRU step is two Linears (input and hidden projections) and element-wise
  sigmoid/tanh/add/mul; the bidirectional intra-frame GRU advances both
  directions in one state ``[h_fwd, h_bwd]`` with block-diagonal weights, the
  backward direction reading the input projection of position T-1-t at step t
  (the loop is unrolled by tracing, so no reverse operator is needed);
- a GT block's dilated temporal convolution reads only the three frames its
  kernel touches, side by side, as a depthwise Conv1d.

Numbers equal the export form to float32 round-off (tests/test_batch_stream.py).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gtcrn_bench.models.erb import N_ERB_BANDS, N_FREQS, N_LOW_BINS
from gtcrn_bench.models.export_stream import (
    HALF,
    N_BLOCKS,
    SLOT_SIZES,
    WIDTH,
    DPGRNNStep,
    GTBlockStep,
    TemporalConv,
    encode,
    to_export_stream,
)
from gtcrn_bench.models.fast_stream import gate_weights
from gtcrn_bench.models.gtcrn import CHANNELS, GTCRN
from gtcrn_bench.models.stream import CACHE_FRAMES

#: the interface: mix, conv_cache, tra_cache, inter_cache, each with the leading axis of size 1
SHAPES: dict[str, tuple[int, ...]] = {
    "mix": (1, N_FREQS, 2),
    "conv_cache": (1, 2 * CHANNELS, CACHE_FRAMES * WIDTH),
    "tra_cache": (1, 2 * N_BLOCKS, CHANNELS),
    "inter_cache": (1, 2 * WIDTH, CHANNELS),
}


def _linear(weight_t: Tensor, bias: Tensor | None) -> nn.Linear:
    """``x @ weight_t + bias`` as an ``nn.Linear`` (pnnx writes it as one ncnn layer holding the weights)."""
    linear = nn.Linear(weight_t.shape[0], weight_t.shape[1], bias=bias is not None)
    with torch.no_grad():
        linear.weight.copy_(weight_t.t())
        if bias is not None:
            linear.bias.copy_(bias)
    return linear.requires_grad_(False)


def _cell(gi: Tensor, gh: Tensor, h: Tensor, hs: int) -> Tensor:
    """A GRU update from the input and hidden projections, each (..., 3 * hs) laid out [r, z, n].

    The r and z biases are both on the input side; n's hidden bias is in ``gh``, which r multiplies.
    """
    i_rz, i_n = gi.split([2 * hs, hs], dim=-1)
    h_rz, h_n = gh.split([2 * hs, hs], dim=-1)
    r, z = torch.sigmoid(i_rz + h_rz).split([hs, hs], dim=-1)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


def _hidden_weights(gates: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """One direction's hidden weights (H, 3H) and bias (3H,), zero for r and z (moved to the input side)."""
    weight = torch.cat([gates["w_h_rz"], gates["w_h_n"]], dim=1)
    return weight, torch.cat([torch.zeros(2 * gates["b_h_n"].numel()), gates["b_h_n"]])


class BatchGRUStep(nn.Module):
    """One step of a one-layer unidirectional ``nn.GRU`` on (1, N, I) inputs and (1, N, H) states -> new state."""

    def __init__(self, gru: nn.GRU) -> None:
        super().__init__()
        gates = gate_weights(gru, "_l0")
        self.hidden = gru.hidden_size
        self.input_proj = _linear(gates["w_ih"], gates["b_i"])
        self.hidden_proj = _linear(*_hidden_weights(gates))

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        return _cell(self.input_proj(x), self.hidden_proj(h), h, self.hidden)


def _interleave(forward: Tensor, backward: Tensor, hs: int) -> Tensor:
    """Per-direction gate columns (..., 3H) each -> (..., 6H) laid out [r_f, r_b, z_f, z_b, n_f, n_b]."""
    parts = [d.split(hs, dim=-1) for d in (forward, backward)]
    return torch.cat([parts[d][g] for g in range(3) for d in range(2)], dim=-1)


class BatchBidirectionalGRU(nn.Module):
    """A one-layer bidirectional ``nn.GRU`` over a (1, T, I) sequence from zero state -> (1, T, 2H).

    The state is ``[h_fwd, h_bwd]`` (1, 1, 2H); the hidden weights are
    block-diagonal, so one product and one set of element-wise operators
    advance both directions. Step t adds the forward projection of position t
    and the backward one of position T-1-t (each zero in the other direction's columns).
    """

    def __init__(self, gru: nn.GRU, steps: int = WIDTH) -> None:
        super().__init__()
        fwd, bwd = (gate_weights(gru, suffix) for suffix in ("_l0", "_l0_reverse"))
        self.hidden = hs = gru.hidden_size
        self.steps = steps  # fixed: tracing unrolls the loop
        zero_ih = torch.zeros_like(fwd["w_ih"])
        self.forward_proj = _linear(_interleave(fwd["w_ih"], zero_ih, hs), _interleave(fwd["b_i"], bwd["b_i"], hs))
        self.backward_proj = _linear(_interleave(zero_ih, bwd["w_ih"], hs), None)
        (w_f, b_f), (w_b, b_b) = _hidden_weights(fwd), _hidden_weights(bwd)
        zero_h = torch.zeros_like(w_f)
        weight = _interleave(torch.cat([w_f, zero_h]), torch.cat([zero_h, w_b]), hs)
        self.hidden_proj = _linear(weight, _interleave(b_f, b_b, hs))

    def forward(self, x: Tensor) -> Tensor:
        hs, steps = self.hidden, self.steps
        gi_f, gi_b = self.forward_proj(x).split(1, dim=1), self.backward_proj(x).split(1, dim=1)
        h = torch.zeros(1, 1, 2 * hs)
        fwd, bwd = [], []
        for t in range(steps):
            h = _cell(gi_f[t] + gi_b[steps - 1 - t], self.hidden_proj(h), h, 2 * hs)
            h_f, h_b = h.split(hs, dim=2)
            fwd.append(h_f)
            bwd.append(h_b)  # the backward direction's output at position T-1-t
        return torch.cat([torch.cat(fwd, dim=1), torch.cat(bwd[::-1], dim=1)], dim=2)


class FlatLayerNorm(nn.Module):
    """A LayerNorm over the last two axes, (1, A, B), computed on the (1, A * B) flattening.

    ncnn's LayerNorm normalises each row of a 2-D blob; over a 1-D blob it
    normalises the whole, which is what ``nn.LayerNorm((A, B))`` does.
    """

    def __init__(self, norm: nn.LayerNorm) -> None:
        super().__init__()
        self.shape = tuple(norm.normalized_shape)
        self.norm = nn.LayerNorm(norm.weight.numel(), eps=norm.eps)
        with torch.no_grad():
            self.norm.weight.copy_(norm.weight.reshape(-1))
            self.norm.bias.copy_(norm.bias.reshape(-1))
        self.norm.requires_grad_(False)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.reshape(1, -1)).reshape(1, *self.shape)


class BatchDPGRNN(nn.Module):
    """:class:`~gtcrn_bench.models.export_stream.DPGRNNStep` on (1, 33, 16) features and (1, 33, 16) state."""

    def __init__(self, step: DPGRNNStep) -> None:
        super().__init__()
        self.intra_rnn = BatchBidirectionalGRU(step.intra_rnn)
        self.intra_fc, self.intra_ln = step.intra_fc, FlatLayerNorm(step.intra_ln)
        self.inter_rnn = BatchGRUStep(step.inter_rnn)
        self.inter_fc, self.inter_ln = step.inter_fc, FlatLayerNorm(step.inter_ln)

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        x = x + self.intra_ln(self.intra_fc(self.intra_rnn(x)))
        h_new = self.inter_rnn(x, h)
        return x + self.inter_ln(self.inter_fc(h_new)), h_new


class TapConv1d(nn.Module):
    """:class:`~gtcrn_bench.models.export_stream.TemporalConv` on the three frames its kernel reads (0, d, 2d).

    The frames side by side, (1, 16 * 3, 33) with row 3c + k channel c's frame
    k, are a depthwise Conv1d with three input rows per channel: no zero taps.
    """

    def __init__(self, conv: TemporalConv) -> None:
        super().__init__()
        self.dilation = (conv.frames - 1) // 2
        self.weight = nn.Parameter(conv.weight[:, :: self.dilation].detach().clone(), requires_grad=False)
        self.bias = conv.bias
        self.slope = conv.slope

    def forward(self, window: Tensor) -> Tensor:
        starts = (0, self.dilation * WIDTH, 2 * self.dilation * WIDTH)
        taps = torch.cat([window[:, :, s : s + WIDTH] for s in starts], dim=2).reshape(1, 3 * CHANNELS, WIDTH)
        return F.leaky_relu(F.conv1d(taps, self.weight, self.bias, padding=1, groups=CHANNELS), self.slope)


class BatchGTBlock(nn.Module):
    """:class:`~gtcrn_bench.models.export_stream.GTBlockStep` with its attention as Linears on (1, 1, .) states."""

    def __init__(self, block: GTBlockStep) -> None:
        super().__init__()
        self.point1, self.point2 = block.point1, block.point2
        self.temporal = TapConv1d(block.temporal)
        self.att_gru = BatchGRUStep(block.att_gru)
        self.att_fc = _linear(block.att_weight.t(), block.att_bias.reshape(-1))

    def forward(self, x: Tensor, history: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (1, 16, 33), history (1, 16, 2d * 33), attention state h (1, 1, 16) -> output, history, state."""
        x1, x2 = x.split(HALF, dim=1)
        window = torch.cat([history, self.point1(x1)], dim=2)
        y = self.point2(self.temporal(window))
        h_new = self.att_gru(y.pow(2).mean(dim=2).reshape(1, 1, HALF), h)
        gain = torch.sigmoid(self.att_fc(h_new)).reshape(1, HALF, 1)
        # channel interleave: row 2c = processed channel c, row 2c + 1 = passed-through channel c
        out = torch.cat([y * gain, x2], dim=2).reshape(1, CHANNELS, WIDTH)
        return out, window[:, :, WIDTH:], h_new


class BatchStreamGTCRN(nn.Module):
    """Frame-by-frame GTCRN on the interface :data:`SHAPES` (the published one with its caches flattened)."""

    def __init__(self, offline: GTCRN) -> None:
        super().__init__()
        export = to_export_stream(offline)
        for conv in (export.de3, export.de4):
            conv.as_plain_conv = True  # ncnn's grouped Deconvolution1D: avoided, as for LiteRT
        self.erb = _linear(export.erb_weight, None)
        self.ierb = _linear(export.ierb_weight, None)
        self.rotation = _linear(export.rotation, None)  # [re, im] -> [-im, re]
        self.sfe_kernel = export.sfe_kernel
        self.en0, self.en1 = export.en0, export.en1
        self.encoder = nn.ModuleList(BatchGTBlock(b) for b in export.encoder)
        self.decoder = nn.ModuleList(BatchGTBlock(b) for b in export.decoder)
        self.encoder_slots, self.decoder_slots = export.encoder_slots, export.decoder_slots
        self.dpgrnn1, self.dpgrnn2 = BatchDPGRNN(export.dpgrnn1), BatchDPGRNN(export.dpgrnn2)
        self.de3, self.de4 = export.de3, export.de4

    def _features(self, spec: Tensor) -> Tensor:
        """(1, 257, 2) spectrum -> (1, 9, 129): magnitude, real, imaginary; ERB bands; neighbour unfold."""
        mag = torch.sqrt(spec.pow(2).sum(dim=2, keepdim=True) + 1e-12)
        low, high = torch.cat([mag, spec], dim=2).transpose(1, 2).split([N_LOW_BINS, N_FREQS - N_LOW_BINS], dim=2)
        return F.conv1d(torch.cat([low, self.erb(high)], dim=2), self.sfe_kernel, padding=1)

    def _apply_mask(self, mask: Tensor, spec: Tensor) -> Tensor:
        """(1, 2, 129) band mask, (1, 257, 2) spectrum -> enhanced spectrum (1, 257, 2) (complex product)."""
        low, high = mask.split([N_LOW_BINS, N_ERB_BANDS], dim=2)
        m_re, m_im = torch.cat([low, self.ierb(high)], dim=2).transpose(1, 2).split(1, dim=2)
        return spec * m_re + self.rotation(spec) * m_im

    def forward(
        self, spec: Tensor, conv_cache: Tensor, tra_cache: Tensor, inter_cache: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Tensors shaped as :data:`SHAPES` -> (enhanced spectrum, conv_cache, tra_cache, inter_cache) likewise."""
        enc_cache, dec_cache = conv_cache.split(CHANNELS, dim=1)
        enc_hist, dec_hist = enc_cache.split(SLOT_SIZES, dim=2), dec_cache.split(SLOT_SIZES, dim=2)
        att_h = tra_cache.split(1, dim=1)
        inter_h = inter_cache.split(WIDTH, dim=1)

        skips = [self.en0(self._features(spec))]
        skips.append(self.en1(skips[0]))
        x, block_outs, new_enc, new_h = encode(self.encoder, self.encoder_slots, skips[1], enc_hist, att_h[:N_BLOCKS])
        skips += block_outs

        x, h1 = self.dpgrnn1(x.transpose(1, 2), inter_h[0])
        x, h2 = self.dpgrnn2(x, inter_h[1])
        x = x.transpose(1, 2)

        new_dec = [torch.empty(0)] * N_BLOCKS
        for i, (block, slot) in enumerate(zip(self.decoder, self.decoder_slots, strict=True)):
            x, new_dec[slot], h = block(x + skips[4 - i], dec_hist[slot], att_h[N_BLOCKS + i])
            new_h.append(h)
        mask = self.de4(self.de3(x + skips[1]) + skips[0])
        conv_out = torch.cat([torch.cat(new_enc, dim=2), torch.cat(new_dec, dim=2)], dim=1)
        return self._apply_mask(mask, spec), conv_out, torch.cat(new_h, dim=1), torch.cat([h1, h2], dim=1)


def to_batch_stream(offline: GTCRN) -> BatchStreamGTCRN:
    """The batch-1 frame-by-frame form of an offline GTCRN (same weights, rearranged)."""
    return BatchStreamGTCRN(offline).eval()
