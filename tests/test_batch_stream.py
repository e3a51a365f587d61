"""The batch-1 form (what pnnx converts to ncnn): its parts equal the modules they replace, the whole equals
StreamGTCRN on real speech. ncnn's own numbers are tests/test_conversions.py's (target ``ncnn``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from conftest import random_gru
from gtcrn_bench.models.batch_stream import (
    SHAPES,
    BatchBidirectionalGRU,
    BatchGRUStep,
    FlatLayerNorm,
    to_batch_stream,
)
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.stft import stft


def test_gru_step_equals_nn_gru_for_one_step() -> None:
    with torch.inference_mode():
        gru = random_gru(0, 16, 16)  # the inter-frame GRU: one step, batch 33
        x, h = torch.randn(1, 33, 16), torch.randn(1, 33, 16)
        # 1e-6: float32 round-off on O(1) values, the operators in another order than nn.GRU's kernel
        assert torch.allclose(BatchGRUStep(gru)(x, h), gru(x, h)[1], atol=1e-6)


def test_bidirectional_gru_equals_nn_gru() -> None:
    """Both directions in one state, the backward one reading position T-1-t: equal to nn.GRU over 33 bands."""
    with torch.inference_mode():
        gru = random_gru(2, 16, 8, bidirectional=True, batch_first=True)
        x = torch.randn(1, 33, 16)
        ref = gru(x)[0]
        out = BatchBidirectionalGRU(gru)(x)
        assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-6)


def test_flat_layer_norm_equals_layer_norm_over_two_axes() -> None:
    torch.manual_seed(3)
    norm = nn.LayerNorm((33, 16), eps=1e-8)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.normal_()
    x = torch.randn(1, 33, 16) * 3
    with torch.inference_mode():
        assert torch.allclose(FlatLayerNorm(norm)(x), norm(x), atol=1e-5)


def test_batch_form_equals_stream_module_frame_by_frame(mix_wav: np.ndarray) -> None:
    """Enhanced frames and the three caches, over 3 s of real speech, against StreamGTCRN's (flattened)."""
    offline = load_gtcrn("dns3-stream")
    batch, eager = to_batch_stream(offline), to_stream(offline)
    spec = stft(torch.from_numpy(mix_wav[: 3 * 16000]))
    ours = [torch.zeros(shape) for shape in list(SHAPES.values())[1:]]
    theirs = zero_caches()
    worst = [0.0] * 4
    with torch.inference_mode():
        for t in range(spec.shape[2]):
            frame = spec[:, :, t : t + 1]
            out_a, *ours = batch(frame.reshape(SHAPES["mix"]), *ours)
            out_b, *theirs = eager(frame, *theirs)
            for k, (x, y) in enumerate(zip([out_a, *ours], [out_b, *theirs], strict=True)):
                worst[k] = max(worst[k], float((x.reshape(y.shape) - y).abs().max()))
    # 1e-4, as for the fast form (test_fast_stream.py) and the published graph: float32 round-off carried
    # through the recurrences (spectrum values reach ~30, conv caches ~16)
    assert max(worst) <= 1e-4
