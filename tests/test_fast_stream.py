"""The fast PyTorch streaming GTCRN: its parts equal the modules they replace, the whole equals StreamGTCRN.

The waveform check against gtcrn-offline for all three checkpoints is
tests/test_model.py::test_streaming_equals_offline_on_real_files (gtcrn-stream runs this engine by default).
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from conftest import random_gru
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.export_stream import TemporalConv
from gtcrn_bench.models.fast_stream import BidirectionalGRUScan, GRUStep, TapConv, to_fast_stream
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.runners import registry
from gtcrn_bench.stft import stft
from gtcrn_bench.store import resolve

INPUTS = ["mix", "conv_cache", "tra_cache", "inter_cache"]


def test_gru_step_equals_nn_gru_for_one_step() -> None:
    with torch.inference_mode():
        gru = random_gru(0, 16, 16)  # the inter-frame GRU: one step, batch 33
        x, h = torch.randn(1, 33, 16), torch.randn(1, 33, 16)
        ref_out, ref_h = gru(x, h)
        out, h_new = GRUStep(gru)(x, h)
        # 1e-6: float32 round-off of fused operators (addmm, addcmul, lerp) on O(1) values
        assert torch.allclose(out, ref_out, atol=1e-6) and torch.allclose(h_new, ref_h, atol=1e-6)
        att = random_gru(1, 8, 16, batch_first=True)  # the GT blocks' attention GRU
        e, h1 = torch.randn(1, 1, 8), torch.randn(1, 1, 16)
        assert torch.allclose(GRUStep(att)(e, h1)[1], att(e, h1)[1], atol=1e-6)


def test_bidirectional_scan_equals_nn_gru() -> None:
    with torch.inference_mode():
        gru = random_gru(2, 16, 8, bidirectional=True)  # the intra-frame GRU over 33 bands
        x = torch.randn(33, 1, 16)
        ref_out, ref_h = gru(x)
        out, h = BidirectionalGRUScan(gru)(x)
        assert out.shape == ref_out.shape and torch.allclose(out, ref_out, atol=1e-6)
        assert torch.allclose(h, ref_h, atol=1e-6)
    with pytest.raises(ValueError, match="bidirectional=True"):
        BidirectionalGRUScan(nn.GRU(4, 4))


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_tap_conv_equals_temporal_conv(dilation: int) -> None:
    torch.manual_seed(dilation)
    conv = nn.Conv2d(16, 16, 3, groups=16, dilation=(dilation, 1))
    bn = nn.BatchNorm2d(16).eval()
    bn.running_mean.normal_()
    bn.running_var.uniform_(0.5, 2.0)
    temporal = TemporalConv(conv, bn, nn.PReLU(), dilation)
    window = torch.randn(1, 16, (2 * dilation + 1) * 33)
    with torch.inference_mode():
        assert torch.allclose(TapConv(temporal)(window), temporal(window), atol=1e-5)  # sums of 9 O(1) products


def test_fast_module_equals_stream_module_frame_by_frame(mix_wav: np.ndarray) -> None:
    """Enhanced frames and all three caches, over 3 s of real speech, against StreamGTCRN."""
    offline = load_gtcrn("dns3-stream")
    fast, eager = to_fast_stream(offline), to_stream(offline)
    spec = stft(torch.from_numpy(mix_wav[: 3 * 16000]))
    a, b = zero_caches(), zero_caches()
    worst = [0.0] * 4
    with torch.inference_mode():
        for t in range(spec.shape[2]):
            frame = spec[:, :, t : t + 1]
            out_a, *a = fast(frame, *a)
            out_b, *b = eager(frame, *b)
            for k, (x, y) in enumerate(zip([out_a, *a], [out_b, *b], strict=True)):
                worst[k] = max(worst[k], float((x - y).abs().max()))
    # 1e-4, as for the published graph (test_model.py): float32 round-off carried through the recurrences;
    # spectrum values reach ~30, conv caches ~16. Measured: 9e-6, 3e-5, 1e-5, 1e-5 (enh, conv, tra, inter),
    # the same as the export module this one is built from.
    assert max(worst) <= 1e-4


def test_fast_module_runs_from_published_onnx_caches(mix_wav: np.ndarray) -> None:
    """The cache layout is the published one: continuing from the graph's caches each frame agrees with it."""
    fast = to_fast_stream(load_gtcrn("dns3-stream"))
    session = ort.InferenceSession(str(resolve("published-onnx")), providers=["CPUExecutionProvider"])
    spec = stft(torch.from_numpy(mix_wav[: 2 * 16000]))
    caches = [c.numpy() for c in zero_caches()]
    worst = 0.0
    with torch.inference_mode():
        for t in range(spec.shape[2]):
            frame = spec[:, :, t : t + 1]
            ours = fast(frame, *(torch.from_numpy(c) for c in caches))[0]
            theirs, *caches = session.run(None, dict(zip(INPUTS, [frame.numpy(), *caches], strict=True)))
            worst = max(worst, float(np.abs(ours.numpy() - theirs).max()))
    assert worst <= 1e-4  # same tolerance and reason as test_model.py's check of StreamGTCRN


def test_engines_agree_on_the_waveform(mix_wav: np.ndarray) -> None:
    wave = mix_wav[: 2 * 16000]
    fast = registry.create("gtcrn-stream", checkpoint="vctk").process(wave)
    eager = registry.create("gtcrn-stream", checkpoint="vctk", engine="eager").process(wave)
    assert np.abs(fast - eager).max() <= 1e-6  # float32 round-off (measured ~2e-7)
    with pytest.raises(ConfigError, match="engine"):
        registry.create("gtcrn-stream", engine="jit")
