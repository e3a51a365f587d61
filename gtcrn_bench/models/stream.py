"""GTCRN, streaming form: one STFT frame in, one out, state carried in the published caches.

The cache layout is the one of the published ONNX graph, so caches can be
exchanged with it:

- ``conv_cache`` (2, B, 16, 16, 33): [encoder, decoder] x the last input frames of
  each depthwise temporal conv, slots assigned by dilation (1 -> 0:2, 2 -> 2:6,
  5 -> 6:16) in both halves;
- ``tra_cache`` (2, 3, 1, B, 16): [encoder, decoder] x block x attention-GRU state;
- ``inter_cache`` (2, 1, B*33, 16): [dpgrnn1, dpgrnn2] x inter-frame GRU state.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from gtcrn_bench.models.gtcrn import (
    CHANNELS,
    DPGRNN,
    DPGRNN_WIDTH,
    ENCODER_DILATIONS,
    GTCRN,
    GTConvBlock,
    apply_mask,
    features,
    interleave,
)

CACHE_FRAMES = sum(2 * d for d in ENCODER_DILATIONS)  # 16


def _cache_slots() -> dict[int, slice]:
    """Frame slots of ``conv_cache`` per dilation: 1 -> 0:2, 2 -> 2:6, 5 -> 6:16."""
    slots, start = {}, 0
    for d in ENCODER_DILATIONS:
        slots[d] = slice(start, start + 2 * d)
        start += 2 * d
    return slots


CACHE_SLOTS = _cache_slots()


def zero_caches(batch: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """Initial (all-zero) ``conv_cache``, ``tra_cache`` and ``inter_cache``."""
    return (
        torch.zeros(2, batch, CHANNELS, CACHE_FRAMES, DPGRNN_WIDTH),
        torch.zeros(2, 3, 1, batch, CHANNELS),
        torch.zeros(2, 1, batch * DPGRNN_WIDTH, CHANNELS),
    )


def _causal_depth_conv(deconv: nn.ConvTranspose2d, dilation: int) -> nn.Conv2d:
    """The causal Conv2d equal to a decoder's stride-1 depthwise ConvTranspose2d after pre-padding.

    A stride-1 transposed convolution is a convolution with the kernel flipped in
    both axes (in/out channel axes swap too, which is trivial for a depthwise one).
    """
    conv = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=(0, 1), dilation=(dilation, 1), groups=CHANNELS)
    with torch.no_grad():
        conv.weight.copy_(deconv.weight.flip(2, 3))
        conv.bias.copy_(deconv.bias)
    return conv


def gtconv_step(block: GTConvBlock, x: Tensor, history: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One frame of a GT-conv block whose ``depth_conv`` is causal with no time padding.

    ``history`` holds the block's last 2*dilation input frames of the temporal conv;
    returns the output frame, the new history and the new attention-GRU state.
    """
    x1, x2 = x.chunk(2, dim=1)
    window = torch.cat([history, block.pre_depth(x1)], dim=2)
    y = block.post_depth(block.depth_conv(window))
    gain, h_new = block.tra.gain(y, h)
    return interleave(y * gain, x2), window[:, :, 1:], h_new


def dpgrnn_step(layer: DPGRNN, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """One frame of a DPGRNN: x (B, C, 1, F), inter-GRU state h (1, B*F, C)."""
    y, h_new = layer.inter(layer.intra(x.permute(0, 2, 3, 1)), h)
    return y.permute(0, 3, 1, 2), h_new


class StreamGTCRN(nn.Module):
    """Frame-by-frame GTCRN with the published ONNX interface.

    Build it with :func:`to_stream`. ``forward`` never modifies the cache tensors
    it is given: it returns new ones.
    """

    def __init__(self, offline: GTCRN) -> None:
        super().__init__()
        model = copy.deepcopy(offline).eval()
        for block in model.decoder.de_convs[:3]:
            block.depth_conv = _causal_depth_conv(block.depth_conv, block.dilation)
        self.erb = model.erb
        self.sfe = model.sfe
        self.encoder = model.encoder
        self.dpgrnn1 = model.dpgrnn1
        self.dpgrnn2 = model.dpgrnn2
        self.decoder = model.decoder

    def forward(
        self, mix: Tensor, conv_cache: Tensor, tra_cache: Tensor, inter_cache: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """mix (B, 257, 1, 2) -> (enh, conv_cache_out, tra_cache_out, inter_cache_out)."""
        en = self.encoder.en_convs
        x0 = en[0](self.sfe(self.erb.bm(features(mix))))
        skips = [x0, en[1](x0)]
        x = skips[1]
        enc_hist, enc_h = [], []
        for i, block in enumerate(en[2:]):
            x, hist, h = gtconv_step(block, x, conv_cache[0][:, :, CACHE_SLOTS[block.dilation]], tra_cache[0, i])
            skips.append(x)
            enc_hist.append(hist)
            enc_h.append(h)

        x, h1 = dpgrnn_step(self.dpgrnn1, x, inter_cache[0])
        x, h2 = dpgrnn_step(self.dpgrnn2, x, inter_cache[1])

        de = self.decoder.de_convs
        dec_hist, dec_h = {}, []
        for i, block in enumerate(de[:3]):
            x, hist, h = gtconv_step(
                block, x + skips[4 - i], conv_cache[1][:, :, CACHE_SLOTS[block.dilation]], tra_cache[1, i]
            )
            dec_hist[block.dilation] = hist
            dec_h.append(h)
        x = de[3](x + skips[1])
        mask = self.erb.bs(de[4](x + skips[0]))

        conv_out = torch.stack([torch.cat(enc_hist, dim=2), torch.cat([dec_hist[d] for d in ENCODER_DILATIONS], dim=2)])
        tra_out = torch.stack([torch.stack(enc_h), torch.stack(dec_h)])
        inter_out = torch.stack([h1, h2])
        return apply_mask(mask, mix), conv_out, tra_out, inter_out


def to_stream(offline: GTCRN) -> StreamGTCRN:
    """Convert an offline GTCRN into the streaming form (same weights, decoder kernels flipped)."""
    return StreamGTCRN(offline).eval()
