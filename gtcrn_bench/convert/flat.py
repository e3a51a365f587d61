"""The lean export form behind a batch-less interface of rank 2, for LiteRT's converter."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn

from gtcrn_bench.onnx.interface import CACHE_SHAPES, MIX_SHAPE


class FlatCacheStream(nn.Module):
    """The lean export form behind an interface of rank <= 2 (no batch axis).

    The published 5-D conv_cache is flattened here (mix (257, 2), conv_cache
    (32, 528), tra_cache (6, 16), inter_cache (66, 16)) and restored inside.
    The module is :func:`~gtcrn_bench.models.fast_stream.to_lean_stream`: its
    GRUs are written as steps of plain operators (no ``nn.GRU``, which TFLite lacks).
    """

    FLAT: ClassVar[dict[str, tuple[int, int]]] = {
        "mix": (257, 2),
        "conv_cache": (32, 528),
        "tra_cache": (6, 16),
        "inter_cache": (66, 16),
    }

    def __init__(self, checkpoint: Path) -> None:
        from gtcrn_bench.models.checkpoint import load_gtcrn
        from gtcrn_bench.models.fast_stream import to_lean_stream

        super().__init__()
        self.stream = to_lean_stream(load_gtcrn(checkpoint))
        for conv in (self.stream.de3, self.stream.de4):
            conv.as_plain_conv = True

    def forward(self, mix: Tensor, conv: Tensor, tra: Tensor, inter: Tensor) -> tuple[Tensor, ...]:
        shapes = (MIX_SHAPE, *CACHE_SHAPES.values())
        outs = self.stream(*(x.reshape(s) for x, s in zip((mix, conv, tra, inter), shapes, strict=True)))
        return tuple(o.reshape(f) for o, f in zip(outs, self.FLAT.values(), strict=True))

    @classmethod
    def example(cls) -> tuple[Tensor, ...]:
        return tuple(torch.zeros(shape) for shape in cls.FLAT.values())
