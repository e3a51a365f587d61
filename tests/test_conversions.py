"""Conversion targets on real pairs: every target whose package is installed is built from dns3-stream and run,
and the gate fails bad conversions naming the check.

Floors on the waveform SNR against the float32 PyTorch streaming model were
measured on the published mix.wav and two mini pairs (fp16 68 dB, int8
dynamic 32 dB, static 11 dB, OpenVINO 136 dB, OpenVINO int8 7 dB); each floor
sits ~5 dB or more below its measurement, so a broken conversion (< 0 dB: the
output no longer resembles the model's) fails while round-off does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import MINI
from gtcrn_bench.conversions import numbers
from gtcrn_bench.conversions.evaluate import Settings, run_conversions
from gtcrn_bench.convert.targets import TARGETS
from gtcrn_bench.models.batch_stream import SHAPES
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.fast_stream import to_lean_stream
from gtcrn_bench.onnx.compare import ErrorStats
from gtcrn_bench.onnx.interface import CACHE_SHAPES, MIX_SHAPE
from gtcrn_bench.onnx.tolerances import Tolerances
from gtcrn_bench.runners import registry
from gtcrn_bench.store import resolve

SNR_FLOOR_DB = {
    "onnx-fp16": 55.0,
    "onnx-int8-dynamic": 25.0,
    "onnx-int8-static": 5.0,
    "openvino": 100.0,
    "openvino-int8": 3.0,
    "litert": 80.0,
    "litert-int8": 20.0,
    "ncnn": 100.0,
}
INSTALLED = [name for name, target in TARGETS.items() if not target.missing()]


@pytest.fixture(scope="module")
def two_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A paired folder holding two real mini pairs (links to the shared files)."""
    root = tmp_path_factory.mktemp("two-pairs")
    names = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[:2]
    for kind in ("clean", "noisy"):
        (root / kind).mkdir()
        for name in names:
            (root / kind / name).symlink_to(MINI / kind / name)
    return root


@pytest.fixture(scope="module")
def reference_waves(mini_pairs: list) -> list[tuple[np.ndarray, np.ndarray]]:
    """The float32 PyTorch streaming model's (frames, waveform) on the first two mini pairs."""
    model = numbers.reference_model(load_gtcrn("dns3-stream"))
    out = []
    for _, _, noisy in mini_pairs[:2]:
        frames = numbers.torch_frames(model, numbers.frames_of(noisy))
        out.append((frames, numbers.to_wave(frames, noisy.size)))
    return out


@pytest.mark.parametrize("target", INSTALLED)
def test_target_runs_on_real_pairs(target: str, two_pairs: Path, mini_pairs: list, reference_waves: list) -> None:
    """Built from dns3-stream, stepped frame by frame on real pairs: finite, and close to float32 by its floor."""
    runner = registry.build("gtcrn-converted", {"target": target, "calibration": str(two_pairs)}, threads=1)
    assert runner.artefact.size_kb > 10
    assert runner.session.op_count() > 50
    for (_, _, noisy), (_, ref_wave) in zip(mini_pairs[:2], reference_waves, strict=True):
        frames = numbers.session_frames(runner.session, numbers.frames_of(noisy))
        assert np.all(np.isfinite(frames))
        wave = numbers.to_wave(frames, noisy.size)
        snr = ErrorStats.between(wave, ref_wave).snr_db
        assert snr > SNR_FLOOR_DB[target], f"{target}: waveform SNR {snr:.1f} dB against float32"
        if TARGETS[target].precision == "float32":
            assert ErrorStats.between(wave, ref_wave).max_abs <= Tolerances().waveform
        # the runner contract's own path (StreamingSTFT, numpy FFT) meets the same floor
        enhanced = runner.enhance(noisy)
        assert ErrorStats.between(enhanced, ref_wave).snr_db > SNR_FLOOR_DB[target]


def _quick(tmp: Path, **kwargs: object) -> Settings:
    return Settings(data=tmp, latency_frames=40, warmup=5, drift_frames=600, **kwargs)  # type: ignore[arg-type]


@pytest.mark.skipif("onnx-int8-static" not in INSTALLED, reason="needs onnxruntime")
def test_gate_fails_int8_calibrated_on_silence(two_pairs: Path) -> None:
    """Static int8 calibrated on digital silence FAILs, and the failing check is named."""
    stages: list[str] = []
    result = run_conversions(_quick(two_pairs, targets=("onnx-int8-static",), calibration="silence"), stages.append)
    expected = ("float32 reference: 2 pairs", "target 1/1 onnx-int8-static:", "timing 3 runners")  # the stages, told
    assert len(stages) == 3 and all(s.startswith(e) for s, e in zip(stages, expected, strict=True)), stages
    row = next(r for r in result.rows if r.target == "onnx-int8-static")
    assert row.verdict == "FAIL"
    assert row.notes["calibration"]["name"] == "silence"
    failed = {c.name for c in row.checks if not c.passed}
    assert failed & {"Δpesq_wb", "Δstoi", "Δdnsmos_ovrl", "finite"}, row.failures()
    assert any(f.startswith("Δpesq_wb") for f in row.failures())


@pytest.mark.skipif("openvino" not in INSTALLED, reason="needs openvino")
def test_gate_fails_checkpoint_with_one_layer_one_percent_off(two_pairs: Path, tmp_path: Path) -> None:
    """A target built from a checkpoint with one layer's weights 1 % off FAILs the waveform check against float32."""
    state = load_gtcrn("dns3-stream").state_dict()
    state["encoder.en_convs.2.point_conv1.weight"] *= 1.01
    bad = tmp_path / "one-layer-off.tar"
    torch.save({"model": state}, bad)
    settings = _quick(two_pairs, checkpoint=str(bad), reference_checkpoint="dns3-stream", targets=("openvino",))
    result = run_conversions(settings)
    row = next(r for r in result.rows if r.target == "openvino")
    assert row.verdict == "FAIL"
    assert [f.split(":")[0] for f in row.failures()][:2] == ["spectrum", "waveform"] or any(
        f.startswith("waveform") for f in row.failures()
    )
    assert not result.passed


def test_cli_names_an_unknown_target(two_pairs: Path) -> None:
    """A mistyped target is one clear error line (exit 2) before any work starts."""
    from typer.testing import CliRunner

    from gtcrn_bench.cli import app

    result = CliRunner().invoke(app, ["conversions", "--data", str(two_pairs), "--targets", "onnx-fp61"])
    assert result.exit_code == 2
    assert "unknown conversion target 'onnx-fp61'" in result.output


class _LeanBatch(nn.Module):
    """The lean form (fused operators: baddbmm, addcmul, lerp, unfold) behind the batch-1 interface."""

    def __init__(self, offline: nn.Module) -> None:
        super().__init__()
        self.lean = to_lean_stream(offline)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        shapes = (MIX_SHAPE, *CACHE_SHAPES.values())
        outs = self.lean(*(x.reshape(s) for x, s in zip(inputs, shapes, strict=True)))
        return tuple(o.reshape(s) for o, s in zip(outs, SHAPES.values(), strict=True))


@pytest.mark.skipif(bool(TARGETS["ncnn"].missing()), reason="needs pnnx and ncnn")
def test_ncnn_refuses_a_form_with_operators_ncnn_lacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Given the lean form, pnnx's graph still holds PyTorch ops: the build names them instead of a broken model."""
    from gtcrn_bench.convert.build import ConversionError, build_artefact
    from gtcrn_bench.models import batch_stream

    checkpoint = resolve("dns3-stream")
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(tmp_path))  # a store of its own: the bad artefact is never cached
    monkeypatch.setattr(batch_stream, "to_batch_stream", _LeanBatch)
    with pytest.raises(ConversionError, match=r"ncnn has no kernel for: .*torch\.baddbmm"):
        build_artefact("ncnn", checkpoint)


def test_an_artefact_its_runtime_refuses_is_a_conversion_error(tmp_path: Path) -> None:
    """A model the runtime will not load (here: a truncated ONNX) is a ConversionError, which the table shows as
    the target's error row, not a crash of the whole run (run_conversions catches it per target)."""
    from gtcrn_bench.convert.build import Artefact, ConversionError

    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(resolve("published-onnx").read_bytes()[:1000])
    artefact = Artefact(TARGETS["onnx-fp16"], bad, (bad,), {})
    with pytest.raises(ConversionError, match="onnx-fp16: onnxruntime refused the artefact"):
        artefact.open()


def test_drift_check_fails_growing_errors_but_not_round_off() -> None:
    """The numbers of the 83-pair run: float16's error growing 60.8 -> 56.2 dB fails; ncnn's round-off moving
    127.8 -> 114.8 dB (still float32 round-off) passes; too short a stream fails whatever it shows."""
    from gtcrn_bench.conversions.gate import drift_check

    grown = drift_check(10_001, 60.8, 56.2)
    assert not grown.passed and "loss +4.6 dB" in grown.message
    assert drift_check(10_001, 127.8, 114.8).passed
    assert drift_check(10_001, 32.4, 31.7).passed
    assert not drift_check(600, 60.0, 60.0).passed
