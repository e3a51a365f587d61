"""GTCRN, one frame per call, written for a small and fast ONNX graph.

Same interface, caches and numbers (to float32 round-off, about 1e-7 on the
waveform) as :class:`~gtcrn_bench.models.stream.StreamGTCRN`, from whose weights
it is built; only the computation is rearranged so that the exported graph has
few, cheap nodes (onnxruntime spends more time dispatching this model's ~200
tiny operators than computing them):

- every frame is a 1-D signal over frequency, (1, C, F), so all convolutions are
  Conv1d (no NCHWc layout conversions in onnxruntime) and batch norm is folded
  into them; the single-slope PReLUs become LeakyReLU, which onnxruntime fuses
  into the preceding convolution;
- the neighbour unfold (SFE) before each 1x1 convolution is folded into a
  kernel-3 convolution; the input's SFE is a fixed 0/1 convolution;
- a GT block's depthwise dilated temporal convolution runs on its cache frames
  flattened with the new frame, as one grouped Conv1d with zero taps between
  the dilated ones; the channel interleave of the two halves is one Concat and
  a Reshape;
- each grouped GRU pair (two GRUs on the two feature halves) is one GRU with
  block-diagonal weights, so each DPGRNN path is a single ONNX GRU node;
- only the 192 upper bins go through the ERB matrices (the lower 65 pass).

The module handles batch 1, the static shape of the published interface.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gtcrn_bench.models.erb import N_ERB_BANDS, N_FREQS, N_LOW_BINS
from gtcrn_bench.models.gtcrn import CHANNELS, DPGRNN, DPGRNN_WIDTH, GRNN, GTCRN, GTConvBlock
from gtcrn_bench.models.stream import CACHE_FRAMES, CACHE_SLOTS, to_stream

HALF = CHANNELS // 2
WIDTH = DPGRNN_WIDTH  # 33 bands inside the encoder/decoder bottleneck
BANDS = N_LOW_BINS + N_ERB_BANDS  # 129
N_BLOCKS = 3  # GT blocks per encoder/decoder
# conv_cache per half, flattened to (16, 16 * 33): the slots (in frame order, by dilation) as sizes and indices
SLOT_SIZES = [(s.stop - s.start) * WIDTH for s in CACHE_SLOTS.values()]
_SLOT_INDEX = {dilation: i for i, dilation in enumerate(CACHE_SLOTS)}


def _frozen(tensor: Tensor) -> nn.Parameter:
    return nn.Parameter(tensor.detach().clone().contiguous(), requires_grad=False)


def _bn_affine(bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """Inference-mode batch norm as y = x * scale + shift."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


class FoldedConv1d(nn.Module):
    """A (1, k) Conv2d or ConvTranspose2d with its batch norm folded in, as a 1-D (transposed) convolution.

    A 1x1 transposed convolution becomes an ordinary one (weight transposed).
    With ``sfe=True`` the neighbour unfold before a 1x1 convolution is folded
    in: channel 3c + k of the unfold is input channel c at offset k - 1, i.e. a
    kernel-3 convolution with padding 1 (zero padding at the edges, as the unfold).
    """

    def __init__(
        self,
        conv: nn.Conv2d | nn.ConvTranspose2d,
        bn: nn.BatchNorm2d,
        act: nn.Module | None = None,
        *,
        sfe: bool = False,
    ) -> None:
        super().__init__()
        if conv.weight.shape[2] != 1:
            raise ValueError("only (1, k) kernels run on a single frame")
        weight = conv.weight.detach()[:, :, 0]
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        if self.transposed and weight.shape[-1] == 1 and conv.groups == 1:
            weight, self.transposed = weight.transpose(0, 1), False
        if sfe:
            weight = weight.reshape(weight.shape[0], -1, 3)
        scale, shift = _bn_affine(bn)
        if self.transposed:  # weight[i, j] (in, out / groups, k) feeds output channel group(i) * out / groups + j
            in_per_group, out_per_group = weight.shape[0] // conv.groups, weight.shape[1]
            group = torch.arange(weight.shape[0]) // in_per_group
            weight = weight * scale[group.unsqueeze(1) * out_per_group + torch.arange(out_per_group)].unsqueeze(-1)
        else:
            weight = weight * scale.reshape(-1, 1, 1)
        self.weight = _frozen(weight)
        self.bias = _frozen(conv.bias.detach() * scale + shift)
        #: run a transposed convolution as an ordinary one on the zero-stuffed input (see :meth:`stuffed`)
        self.as_plain_conv = False
        if self.transposed and conv.output_padding[1] != 0:
            raise ValueError("a transposed convolution with output padding is not supported")
        self.stride = conv.stride[1]
        self.padding = 1 if sfe else conv.padding[1]
        self.groups = conv.groups
        if self.transposed:
            self.plain_weight = _frozen(self._plain_weight())
        # a one-parameter PReLU is a leaky ReLU, which onnxruntime fuses into the convolution
        self.slope = float(act.weight.detach().item()) if isinstance(act, nn.PReLU) else None
        self.tanh = isinstance(act, nn.Tanh)

    def _plain_weight(self) -> Tensor:
        """The transposed kernel as an ordinary one: per group (in, out, k) -> (out, in, k), flipped in time."""
        per_group = self.weight.shape[0] // self.groups
        parts = [w.transpose(0, 1).flip(-1) for w in self.weight.split(per_group, dim=0)]
        return torch.cat(parts, dim=0)

    def stuffed(self, x: Tensor) -> Tensor:
        """A strided transposed convolution as a convolution of the input with stride - 1 zeros after each sample.

        LiteRT's converter cannot lower PyTorch's grouped transposed convolution
        (an MHLO convolution with input dilation); this form is ordinary
        operators only, equal to it to float32 round-off.
        """
        n = x.shape[-1]
        spread = F.pad(x.unsqueeze(-1), (0, self.stride - 1)).reshape(x.shape[0], x.shape[1], n * self.stride)
        spread = spread[..., : (n - 1) * self.stride + 1]
        pad = self.weight.shape[-1] - 1 - self.padding
        return F.conv1d(spread, self.plain_weight, self.bias, 1, pad, groups=self.groups)

    def forward(self, x: Tensor) -> Tensor:
        if self.transposed and self.as_plain_conv:
            y = self.stuffed(x)
        elif self.transposed:
            y = F.conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding, groups=self.groups)
        else:
            y = F.conv1d(x, self.weight, self.bias, self.stride, self.padding, groups=self.groups)
        if self.slope is not None:
            return F.leaky_relu(y, self.slope)
        return torch.tanh(y) if self.tanh else y


class TemporalConv(nn.Module):
    """A GT block's causal depthwise 3x3 conv (time dilation d) + batch norm + PReLU on one frame.

    Input: the window of the 2d cached frames and the new one, flattened to
    (1, 16, (2d + 1) * 33). Reshaped to (1, 16 * (2d + 1), 33) it is a grouped
    Conv1d (a group per channel) whose taps at frames 0, d and 2d carry the
    kernel's three rows and all other frames zero.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d, act: nn.PReLU, dilation: int) -> None:
        super().__init__()
        scale, shift = _bn_affine(bn)
        kernel = conv.weight.detach()[:, 0] * scale.reshape(-1, 1, 1)  # (16, 3 time, 3 freq)
        self.frames = 2 * dilation + 1
        weight = torch.zeros(CHANNELS, self.frames, 3)
        weight[:, ::dilation] = kernel
        self.weight = _frozen(weight)
        self.bias = _frozen(conv.bias.detach() * scale + shift)
        self.slope = float(act.weight.detach().item())

    def forward(self, window: Tensor) -> Tensor:
        x = window.reshape(1, CHANNELS * self.frames, WIDTH)
        return F.leaky_relu(F.conv1d(x, self.weight, self.bias, padding=1, groups=CHANNELS), self.slope)


class GTBlockStep(nn.Module):
    """One frame of a GT-conv block (encoder, or decoder with causal kernels) on (1, 16, 33)."""

    def __init__(self, block: GTConvBlock) -> None:
        super().__init__()
        self.point1 = FoldedConv1d(block.point_conv1, block.point_bn1, block.point_act, sfe=True)
        self.temporal = TemporalConv(block.depth_conv, block.depth_bn, block.depth_act, block.dilation)
        self.point2 = FoldedConv1d(block.point_conv2, block.point_bn2)
        self.att_gru = block.tra.att_gru
        self.att_weight = _frozen(block.tra.att_fc.weight)  # (8, 16)
        self.att_bias = _frozen(block.tra.att_fc.bias.reshape(HALF, 1))

    def forward(self, x: Tensor, history: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x (1, 16, 33), history (1, 16, 2d * 33), attention state h (1, 1, 16) -> output, history, state."""
        x1, x2 = x.split(HALF, dim=1)
        window = torch.cat([history, self.point1(x1)], dim=2)
        y = self.point2(self.temporal(window))
        energy = y.pow(2).mean(dim=-1).reshape(1, 1, HALF)
        h_new = self.att_gru(energy, h)[1]
        gain = torch.sigmoid(torch.addmm(self.att_bias, self.att_weight, h_new.reshape(2 * HALF, 1)))  # (8, 1)
        # channel interleave: row 2c = processed channel c, row 2c + 1 = passed-through channel c
        out = torch.cat([y * gain, x2], dim=2).reshape(1, CHANNELS, WIDTH)
        return out, window[:, :, WIDTH:], h_new


def merge_grus(grnn: GRNN, bidirectional: bool) -> nn.GRU:
    """One GRU equal to the grouped pair ``grnn.rnn1``/``rnn2`` side by side (block-diagonal weights).

    Hidden units [0, h) are ``rnn1``'s and [h, 2h) ``rnn2``'s, within each of
    the gates r, z, n; per direction the output is (rnn1, rnn2).
    """
    g1, g2 = grnn.rnn1, grnn.rnn2
    hs = g1.hidden_size
    merged = nn.GRU(2 * g1.input_size, 2 * hs, bidirectional=bidirectional)
    with torch.no_grad():
        for suffix in ("", "_reverse") if bidirectional else ("",):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                a, b = getattr(g1, f"{kind}_l0{suffix}"), getattr(g2, f"{kind}_l0{suffix}")
                join = torch.block_diag if kind.startswith("weight") else lambda p, q: torch.cat([p, q])
                gates = [join(a[k * hs : (k + 1) * hs], b[k * hs : (k + 1) * hs]) for k in range(3)]
                getattr(merged, f"{kind}_l0{suffix}").copy_(torch.cat(gates))
    return merged.eval()


class DPGRNNStep(nn.Module):
    """One frame of a DPGRNN on (33, 16) = (bands, features)."""

    def __init__(self, layer: DPGRNN) -> None:
        super().__init__()
        self.intra_rnn = merge_grus(layer.intra_rnn, bidirectional=True)
        # the original features are (group, direction, unit), the merged GRU's (direction, group, unit)
        q = layer.intra_rnn.rnn1.hidden_size
        order = torch.arange(4 * q).reshape(2, 2, q).transpose(0, 1).reshape(-1)
        self.intra_fc = nn.Linear(layer.hidden_size, layer.hidden_size)
        with torch.no_grad():
            self.intra_fc.weight.copy_(layer.intra_fc.weight[:, order])
            self.intra_fc.bias.copy_(layer.intra_fc.bias)
        self.intra_ln = layer.intra_ln
        self.inter_rnn = merge_grus(layer.inter_rnn, bidirectional=False)
        self.inter_fc = layer.inter_fc
        self.inter_ln = layer.inter_ln

    def forward(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """x (33, 16) and the inter-frame state h (1, 33, 16) -> output (33, 16) and new state."""
        y = self.intra_rnn(x.reshape(WIDTH, 1, CHANNELS))[0].reshape(WIDTH, CHANNELS)
        x = x + self.intra_ln(self.intra_fc(y))
        h_new = self.inter_rnn(x.reshape(1, WIDTH, CHANNELS), h)[1]
        return x + self.inter_ln(self.inter_fc(h_new.reshape(WIDTH, CHANNELS))), h_new


def encode(
    blocks: nn.ModuleList, slots: list[int], x: Tensor, history: tuple[Tensor, ...], states: tuple[Tensor, ...]
) -> tuple[Tensor, list[Tensor], list[Tensor], list[Tensor]]:
    """The encoder's GT blocks on one frame -> (output, each block's output, new history by slot, new states).

    Block i reads the cache slot of its dilation (``slots[i]``) and attention state ``states[i]``.
    """
    outs, new_history, new_states = [], [torch.empty(0)] * len(blocks), []
    for block, slot, h in zip(blocks, slots, states, strict=True):
        x, new_history[slot], h_new = block(x, history[slot], h)
        outs.append(x)
        new_states.append(h_new)
    return x, outs, new_history, new_states


def _sfe_kernel() -> Tensor:
    """The neighbour unfold of 3 channels as a fixed (9, 3, 3) 0/1 convolution kernel."""
    kernel = torch.zeros(9, 3, 3)
    for c in range(3):
        for k in range(3):
            kernel[3 * c + k, c, k] = 1.0
    return kernel


class ExportStreamGTCRN(nn.Module):
    """Frame-by-frame GTCRN with the published ONNX interface, arranged for export (batch 1)."""

    def __init__(self, offline: GTCRN) -> None:
        super().__init__()
        stream = to_stream(offline)  # decoder kernels already flipped into causal convolutions
        self.erb_weight = _frozen(stream.erb.erb_fc.weight.t())  # (192, 64)
        self.ierb_weight = _frozen(stream.erb.ierb_fc.weight.t())  # (64, 192)
        self.sfe_kernel = _frozen(_sfe_kernel())
        # [re, im] @ rotation = [-im, re]: the spectrum times i, for the complex mask
        self.rotation = _frozen(torch.tensor([[0.0, 1.0], [-1.0, 0.0]]))
        en, de = stream.encoder.en_convs, stream.decoder.de_convs
        self.en0 = FoldedConv1d(en[0].conv, en[0].bn, en[0].act)
        self.en1 = FoldedConv1d(en[1].conv, en[1].bn, en[1].act)
        self.encoder = nn.ModuleList(GTBlockStep(b) for b in en[2:])
        self.encoder_slots = [_SLOT_INDEX[b.dilation] for b in en[2:]]
        self.dpgrnn1 = DPGRNNStep(stream.dpgrnn1)
        self.dpgrnn2 = DPGRNNStep(stream.dpgrnn2)
        self.decoder = nn.ModuleList(GTBlockStep(b) for b in de[:N_BLOCKS])
        self.decoder_slots = [_SLOT_INDEX[b.dilation] for b in de[:N_BLOCKS]]
        self.de3 = FoldedConv1d(de[3].conv, de[3].bn, de[3].act)
        self.de4 = FoldedConv1d(de[4].conv, de[4].bn, de[4].act)

    def _features(self, spec: Tensor) -> Tensor:
        """(257, 2) spectrum -> (1, 9, 129): magnitude, real, imaginary; ERB bands; neighbour unfold."""
        mag = torch.sqrt(spec.pow(2).sum(dim=1, keepdim=True) + 1e-12)
        low, high = torch.cat([mag, spec], dim=1).t().split([N_LOW_BINS, N_FREQS - N_LOW_BINS], dim=1)
        bands = torch.cat([low, high @ self.erb_weight], dim=1).reshape(1, 3, BANDS)
        return F.conv1d(bands, self.sfe_kernel, padding=1)

    def _apply_mask(self, mask: Tensor, spec: Tensor) -> Tensor:
        """(1, 2, 129) band mask, (257, 2) spectrum -> enhanced spectrum (257, 2) (complex product)."""
        low, high = mask.reshape(2, BANDS).split([N_LOW_BINS, N_ERB_BANDS], dim=1)
        m_re, m_im = torch.cat([low, high @ self.ierb_weight], dim=1).t().split(1, dim=1)
        return spec * m_re + (spec @ self.rotation) * m_im

    def forward(
        self, mix: Tensor, conv_cache: Tensor, tra_cache: Tensor, inter_cache: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """mix (1, 257, 1, 2) and caches -> (enh, conv_cache_out, tra_cache_out, inter_cache_out)."""
        spec = mix.reshape(N_FREQS, 2)
        enc_cache, dec_cache = conv_cache.reshape(2, CHANNELS, CACHE_FRAMES * WIDTH).split(1, dim=0)
        enc_hist, dec_hist = enc_cache.split(SLOT_SIZES, dim=2), dec_cache.split(SLOT_SIZES, dim=2)
        att_h = tra_cache.reshape(2 * N_BLOCKS, 1, CHANNELS).split(1, dim=0)
        inter_h = inter_cache.reshape(2, WIDTH, CHANNELS).split(1, dim=0)

        skips = [self.en0(self._features(spec))]
        skips.append(self.en1(skips[0]))
        x, block_outs, new_enc, new_h = encode(self.encoder, self.encoder_slots, skips[1], enc_hist, att_h[:N_BLOCKS])
        skips += block_outs

        x, h1 = self.dpgrnn1(x.reshape(CHANNELS, WIDTH).t(), inter_h[0])
        x, h2 = self.dpgrnn2(x, inter_h[1])
        x = x.t()  # (16, 33): broadcasts against the (1, 16, 33) skip

        new_dec = [torch.empty(0)] * N_BLOCKS
        for i, (block, slot) in enumerate(zip(self.decoder, self.decoder_slots, strict=True)):
            x, new_dec[slot], h = block(x + skips[4 - i], dec_hist[slot], att_h[N_BLOCKS + i])
            new_h.append(h)
        mask = self.de4(self.de3(x + skips[1]) + skips[0])

        enh = self._apply_mask(mask, spec).reshape(1, N_FREQS, 1, 2)
        conv_out = torch.cat([torch.cat(new_enc, dim=2), torch.cat(new_dec, dim=2)]).reshape(conv_cache.shape)
        return enh, conv_out, torch.cat(new_h).reshape(tra_cache.shape), torch.cat([h1, h2]).reshape(inter_cache.shape)


def to_export_stream(offline: GTCRN) -> ExportStreamGTCRN:
    """The export-oriented frame-by-frame form of an offline GTCRN (same weights, rearranged)."""
    return ExportStreamGTCRN(offline).eval()
