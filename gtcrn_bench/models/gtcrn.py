"""GTCRN, offline form, implemented from ``docs/gtcrn-model.md``.

Module and parameter names are the published state-dict names, so the
published checkpoints load with ``strict=True``. Tensors inside the network are
(B, C, T, F); the model maps a (B, 257, T, 2) spectrum to the enhanced one.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gtcrn_bench.models.erb import ERB

CHANNELS = 16
ENCODER_DILATIONS = (1, 2, 5)
DPGRNN_WIDTH = 33


class SFE(nn.Module):
    """Subband feature extraction: each band with its two neighbours, channel-major."""

    def __init__(self, kernel_size: int = 3) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.unfold = nn.Unfold(kernel_size=(1, kernel_size), padding=(0, kernel_size // 2))

    def forward(self, x: Tensor) -> Tensor:
        b, c, t, f = x.shape
        return self.unfold(x).reshape(b, c * self.kernel_size, t, f)


class TRA(nn.Module):
    """Temporal recurrent attention: a per-channel, per-frame gain from a GRU over frame energy."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.att_gru = nn.GRU(channels, channels * 2, 1, batch_first=True)
        self.att_fc = nn.Linear(channels * 2, channels)

    def gain(self, x: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, C, T, F) -> gain (B, C, T, 1) and the GRU's final hidden state."""
        energy = x.pow(2).mean(dim=-1)  # (B, C, T)
        att, h_out = self.att_gru(energy.transpose(1, 2), h)
        gain = torch.sigmoid(self.att_fc(att)).transpose(1, 2)
        return gain.unsqueeze(-1), h_out

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gain(x)[0]


class ConvBlock(nn.Module):
    """Frequency-strided (de)convolution, batch norm and PReLU (Tanh for the mask)."""

    def __init__(self, in_ch: int, out_ch: int, groups: int = 1, *, deconv: bool = False, last: bool = False) -> None:
        super().__init__()
        conv = nn.ConvTranspose2d if deconv else nn.Conv2d
        self.conv = conv(in_ch, out_ch, (1, 5), stride=(1, 2), padding=(0, 2), groups=groups)
        self.bn = nn.BatchNorm2d(out_ch)
        self.act: nn.Module = nn.Tanh() if last else nn.PReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


def interleave(processed: Tensor, passed: Tensor) -> Tensor:
    """Channel shuffle: output channel 2c is ``processed[c]``, 2c+1 is ``passed[c]``."""
    b, c, t, f = processed.shape
    return torch.stack([processed, passed], dim=2).reshape(b, 2 * c, t, f)


class GTConvBlock(nn.Module):
    """Grouped temporal convolution block (ShuffleNetV2-style) with dilation ``dilation`` in time."""

    def __init__(self, dilation: int, *, deconv: bool = False) -> None:
        super().__init__()
        half = CHANNELS // 2
        conv = nn.ConvTranspose2d if deconv else nn.Conv2d
        self.dilation = dilation
        self.pad_size = 2 * dilation  # (kernel 3 - 1) x dilation frames of causal history
        self.sfe = SFE(3)
        self.point_conv1 = conv(half * 3, CHANNELS, 1)
        self.point_bn1 = nn.BatchNorm2d(CHANNELS)
        self.point_act = nn.PReLU()
        time_pad = self.pad_size if deconv else 0
        self.depth_conv = conv(CHANNELS, CHANNELS, 3, padding=(time_pad, 1), dilation=(dilation, 1), groups=CHANNELS)
        self.depth_bn = nn.BatchNorm2d(CHANNELS)
        self.depth_act = nn.PReLU()
        self.point_conv2 = conv(CHANNELS, half, 1)
        self.point_bn2 = nn.BatchNorm2d(half)
        self.tra = TRA(half)

    def pre_depth(self, x1: Tensor) -> Tensor:
        """The processed half up to the temporal convolution."""
        return self.point_act(self.point_bn1(self.point_conv1(self.sfe(x1))))

    def post_depth(self, h: Tensor) -> Tensor:
        """BN, PReLU and the second pointwise conv after the temporal convolution."""
        return self.point_bn2(self.point_conv2(self.depth_act(self.depth_bn(h))))

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x.chunk(2, dim=1)
        h = F.pad(self.pre_depth(x1), (0, 0, self.pad_size, 0))
        h = self.tra(self.post_depth(self.depth_conv(h)))
        return interleave(h, x2)


class GRNN(nn.Module):
    """Grouped GRU: the features split in two halves, each with its own GRU."""

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool) -> None:
        super().__init__()
        rnn_hidden = hidden_size // 2 // (2 if bidirectional else 1)
        self.rnn1 = nn.GRU(input_size // 2, rnn_hidden, batch_first=True, bidirectional=bidirectional)
        self.rnn2 = nn.GRU(input_size // 2, rnn_hidden, batch_first=True, bidirectional=bidirectional)

    def forward(self, x: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (N, L, input) and optional h (D, N, hidden); returns outputs and final hidden state."""
        x1, x2 = x.chunk(2, dim=-1)
        h1, h2 = (None, None) if h is None else h.chunk(2, dim=-1)
        y1, h1 = self.rnn1(x1, h1)
        y2, h2 = self.rnn2(x2, h2)
        return torch.cat([y1, y2], dim=-1), torch.cat([h1, h2], dim=-1)


class DPGRNN(nn.Module):
    """Grouped dual-path RNN: bidirectional over bands, causal over frames."""

    def __init__(self, input_size: int = CHANNELS, width: int = DPGRNN_WIDTH, hidden_size: int = CHANNELS) -> None:
        super().__init__()
        self.width = width
        self.hidden_size = hidden_size
        self.intra_rnn = GRNN(input_size, hidden_size, bidirectional=True)
        self.intra_fc = nn.Linear(hidden_size, hidden_size)
        self.intra_ln = nn.LayerNorm((width, hidden_size), eps=1e-8)
        self.inter_rnn = GRNN(input_size, hidden_size, bidirectional=False)
        self.inter_fc = nn.Linear(hidden_size, hidden_size)
        self.inter_ln = nn.LayerNorm((width, hidden_size), eps=1e-8)

    def intra(self, x: Tensor) -> Tensor:
        """Intra-frame path with residual; x and result are (B, T, F, C)."""
        b, t, f, c = x.shape
        y = self.intra_fc(self.intra_rnn(x.reshape(b * t, f, c))[0])
        return x + self.intra_ln(y.reshape(b, t, f, self.hidden_size))

    def inter(self, x: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Inter-frame (causal) path with residual; x (B, T, F, C), h (1, B*F, C)."""
        b, t, f, c = x.shape
        y, h_out = self.inter_rnn(x.transpose(1, 2).reshape(b * f, t, c), h)
        y = self.inter_fc(y).reshape(b, f, t, self.hidden_size).transpose(1, 2)
        return x + self.inter_ln(y), h_out

    def forward(self, x: Tensor) -> Tensor:
        y = self.inter(self.intra(x.permute(0, 2, 3, 1)))[0]
        return y.permute(0, 3, 1, 2)


class Encoder(nn.Module):
    """Two frequency-strided conv blocks, then three GT-conv blocks (dilations 1, 2, 5)."""

    def __init__(self) -> None:
        super().__init__()
        self.en_convs = nn.ModuleList(
            [
                ConvBlock(9, CHANNELS),
                ConvBlock(CHANNELS, CHANNELS, groups=2),
                *(GTConvBlock(d) for d in ENCODER_DILATIONS),
            ]
        )

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        skips = []
        for layer in self.en_convs:
            x = layer(x)
            skips.append(x)
        return x, skips


class Decoder(nn.Module):
    """Mirror of the encoder on transposed convolutions, with additive skips; outputs the mask."""

    def __init__(self) -> None:
        super().__init__()
        self.de_convs = nn.ModuleList(
            [
                *(GTConvBlock(d, deconv=True) for d in reversed(ENCODER_DILATIONS)),
                ConvBlock(CHANNELS, CHANNELS, groups=2, deconv=True),
                ConvBlock(CHANNELS, 2, deconv=True, last=True),
            ]
        )

    def forward(self, x: Tensor, skips: list[Tensor]) -> Tensor:
        for i, layer in enumerate(self.de_convs):
            x = layer(x + skips[-1 - i])
        return x


def features(spec: Tensor) -> Tensor:
    """(B, 257, T, 2) spectrum -> (B, 3, T, 257) stacked magnitude, real and imaginary parts."""
    re, im = spec[..., 0].transpose(1, 2), spec[..., 1].transpose(1, 2)
    mag = torch.sqrt(re**2 + im**2 + 1e-12)
    return torch.stack([mag, re, im], dim=1)


def apply_mask(mask: Tensor, spec: Tensor) -> Tensor:
    """Complex ratio mask: mask (B, 2, T, 257) times spectrum (B, 257, T, 2) -> (B, 257, T, 2)."""
    s_re, s_im = spec[..., 0], spec[..., 1]
    m_re, m_im = mask[:, 0].transpose(1, 2), mask[:, 1].transpose(1, 2)
    return torch.stack([s_re * m_re - s_im * m_im, s_im * m_re + s_re * m_im], dim=-1)


class GTCRN(nn.Module):
    """The offline GTCRN: (B, 257, T, 2) noisy spectrum -> enhanced spectrum of the same shape."""

    def __init__(self) -> None:
        super().__init__()
        self.erb = ERB()
        self.sfe = SFE(3)
        self.encoder = Encoder()
        self.dpgrnn1 = DPGRNN()
        self.dpgrnn2 = DPGRNN()
        self.decoder = Decoder()

    def forward(self, spec: Tensor) -> Tensor:
        x = self.sfe(self.erb.bm(features(spec)))
        x, skips = self.encoder(x)
        x = self.dpgrnn2(self.dpgrnn1(x))
        mask = self.erb.bs(self.decoder(x, skips))
        return apply_mask(mask, spec)
