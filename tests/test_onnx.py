"""Frame-by-frame ONNX: export, the gtcrn-onnx runner, and the `verify` conversion check (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import soundfile as sf
import torch
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from conftest import MINI, read
from gtcrn_bench import store
from gtcrn_bench.cli import app
from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import CheckpointError, ConfigError
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.export_stream import to_export_stream
from gtcrn_bench.models.stream import to_stream
from gtcrn_bench.onnx.compare import Probe, run_torch_frames, spectrum, waveform
from gtcrn_bench.onnx.export import ExportResult, export_onnx
from gtcrn_bench.onnx.interface import CACHE_SHAPES, MIX_SHAPE, OUTPUT_NAMES
from gtcrn_bench.onnx.session import FrameSession, NonFiniteOutputError
from gtcrn_bench.onnxrt import OPTIMIZATION_LEVELS
from gtcrn_bench.runners import registry

cli = CliRunner()
PUBLISHED_NODES = 415  # nodes of the published gtcrn_simple.onnx
MASK_WEIGHT = "decoder.de_convs.4.conv.weight"  # the decoder's last layer: the mask, so it reaches only ``enh``
ORT_IR_VERSION = 8  # hand-built test graphs: an IR version every onnxruntime of the last years reads


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    """The project's export of the weights behind the published graph (default exporter and clean-up)."""
    return export_onnx("dns3-stream", tmp_path_factory.mktemp("export") / "gtcrn.onnx")


@pytest.fixture(scope="module")
def excerpt(tmp_path_factory: pytest.TempPathFactory, mix_wav: np.ndarray) -> Path:
    """The first 3 s of mix.wav as a file, to keep the verify runs short."""
    path = tmp_path_factory.mktemp("audio") / "mix-3s.wav"
    sf.write(str(path), mix_wav[: 3 * 16000], 16000, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def nan_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of dns3-stream with one NaN weight in the mask layer."""
    checkpoint = torch.load(store.resolve("dns3-stream"), map_location="cpu", weights_only=True)
    checkpoint["model"][MASK_WEIGHT].view(-1)[0] = float("nan")
    path = tmp_path_factory.mktemp("nan") / "nan-weight.tar"
    torch.save(checkpoint, path)
    return path


def flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())


def test_export_agrees_with_published_graph_on_mix_wav(exported: ExportResult, mix_wav: np.ndarray) -> None:
    ours = registry.create("gtcrn-onnx", model=str(exported.path)).process(mix_wav)
    published = registry.create("gtcrn-onnx", model="published-onnx").process(mix_wav)
    # 1e-5 (the bound, a third of a PCM16 step): both are float32 graphs of the same weights,
    # measured 1.2e-7 apart.
    assert np.abs(ours - published).max() <= 1e-5
    assert np.abs(published).max() > 0.1  # real speech came out, so the comparison means something
    # a structural property of the export path, not a timing: it removes nodes instead of adding them
    assert len(onnx.load(str(exported.path)).graph.node) < PUBLISHED_NODES


def test_export_sidecar_records_how_it_was_made(exported: ExportResult) -> None:
    info = json.loads(exported.sidecar.read_text())
    model = onnx.load(str(exported.path))
    onnx.checker.check_model(model, full_check=True)
    assert info["checkpoint"]["sha256"] == store.ARTEFACTS["dns3-stream"].sha256
    assert info["onnx"]["nodes"] == len(model.graph.node)
    assert info["onnx"]["opset"] == 17 and info["export"]["exporter"] == "legacy"
    assert info["versions"]["torch"] == torch.__version__ and info["versions"]["onnx"] == onnx.__version__
    check = info["check_vs_pytorch_stream"]
    assert check["probe"] == "mix.wav" and check["frames"] == 611
    # float32 round-off against the PyTorch streaming module: spectrum values reach ~30 (resolution 2e-6),
    # caches ~18; measured 1.2e-5 and 3e-5; the waveform 1.2e-7
    assert max(check["max_abs_error"].values()) <= 1e-4
    assert check["waveform"]["max_abs"] <= 1e-6
    FrameSession(exported.path)  # the published interface (checked on load)


def test_export_onnx_command_writes_graph_and_sidecar(tmp_path: Path) -> None:
    out = tmp_path / "models" / "vctk.onnx"
    result = cli.invoke(app, ["export-onnx", "--checkpoint", "vctk", "-o", str(out)])
    assert result.exit_code == 0, result.output
    output = flat(result.output)
    assert f"wrote {out}" in output and "legacy exporter, export module, clean-up: onnxslim" in output
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["checkpoint"]["sha256"] == store.ARTEFACTS["vctk"].sha256
    assert info["onnx"]["sha256"] == sha256_file(out)
    FrameSession(out)
    bad = cli.invoke(app, ["export-onnx", "--checkpoint", "vctk", "-o", str(out), "--simplifier", "magic"])
    assert bad.exit_code == 2 and "simplifier 'magic': choose one of onnxslim, onnxsim, none" in flat(bad.output)


def test_export_of_a_nan_weight_is_a_one_line_error_naming_the_frame(tmp_path: Path, nan_checkpoint: Path) -> None:
    out = tmp_path / "nan.onnx"
    result = cli.invoke(app, ["export-onnx", "--checkpoint", str(nan_checkpoint), "-o", str(out)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # user_errors' exit, no TypeError
    output = flat(result.output)
    assert "Traceback" not in result.output and output.startswith("error: export of")
    assert "NaN or Inf first appeared in frame 0 (t = 0.000 s) in enh" in output
    assert f"the checkpoint holds NaN or Inf in {MASK_WEIGHT}" in output  # the cause, found in the weights
    assert not out.exists() and not out.with_suffix(".json").exists()  # nothing was written


def test_export_records_non_finite_errors_instead_of_hiding_them(
    tmp_path: Path, nan_checkpoint: Path, mix_wav: np.ndarray
) -> None:
    """Written anyway on request (verify does): the sidecar says where the output turned NaN, not a 0.0 error."""
    probe = Probe("mix-1s", mix_wav[:16000])
    result = export_onnx(nan_checkpoint, tmp_path / "nan.onnx", probe=probe, require_finite=False)
    check = json.loads(result.sidecar.read_text())["check_vs_pytorch_stream"]
    assert check["first_non_finite"] == {"frame": 0, "outputs": ["enh"], "pytorch_finite": False}
    assert check["max_abs_error"]["enh"] is None and check["waveform"]["max_abs"] is None  # JSON's "not finite"
    # the mask does not feed the caches, so their comparison stays a finite float32 round-off
    assert all(0 <= check["max_abs_error"][name] <= 1e-4 for name in OUTPUT_NAMES[1:])


def test_export_module_equals_streaming_module_on_real_audio() -> None:
    """Folded batch norm, merged GRUs, 1-D convolutions: the same function as models/stream.py."""
    offline = load_gtcrn("vctk")  # other weights than the exported ones
    spec = spectrum(read(MINI / "noisy" / "p232_001.wav")[: 2 * 16000])
    ours = run_torch_frames(to_export_stream(offline), spec)
    theirs = run_torch_frames(to_stream(offline), spec)
    # float32 round-off of a different operation order (measured 1.2e-5 on the spectrum, 1e-7 on the waveform)
    assert (ours - theirs).abs().max() <= 1e-4
    assert np.abs(waveform(ours) - waveform(theirs)).max() <= 1e-6


def test_onnx_runner_carries_state_like_the_pytorch_stream(mix_wav: np.ndarray) -> None:
    wave = mix_wav[: 3 * 16000]
    runner = registry.create("gtcrn-onnx", model="published-onnx")
    first = runner.process(wave)
    assert np.array_equal(runner.process(wave), first)  # reset between files
    reference = registry.create("gtcrn-stream", checkpoint="dns3-stream", threads=1).process(wave)
    # the published graph vs our PyTorch streaming module, same weights: measured 1.2e-7
    assert np.abs(first - reference).max() <= 1e-5


def test_onnx_runner_parameters(tmp_path: Path) -> None:
    runner = registry.create("gtcrn-onnx", model="published-onnx", intra_threads="2", optimization="extended")
    assert runner.params() == {
        "model": "published-onnx",
        "checkpoint": None,
        "intra_threads": 2,
        "inter_threads": 1,
        "optimization": "extended",
    }
    assert runner.describe()["artefacts"] == {"onnx": store.ARTEFACTS["published-onnx"].sha256}
    with pytest.raises(ConfigError, match=r"optimization 'fast'.*disable, basic, extended, layout, all"):
        registry.create("gtcrn-onnx", optimization="fast")
    with pytest.raises(CheckpointError, match="neither a file nor a known alias"):
        registry.create("gtcrn-onnx", model=str(tmp_path / "missing.onnx"))


@pytest.mark.parametrize("optimization", list(OPTIMIZATION_LEVELS))
def test_onnx_runner_session_gets_the_requested_options(optimization: str) -> None:
    runner = registry.create(
        "gtcrn-onnx", model="published-onnx", intra_threads=2, inter_threads=3, optimization=optimization
    )
    options = runner.session.session.get_session_options()  # onnxruntime's own record of the built session
    level = {"disable": "DISABLE_ALL", "basic": "ENABLE_BASIC", "extended": "ENABLE_EXTENDED"}.get(
        optimization, f"ENABLE_{optimization.upper()}"
    )
    assert options.graph_optimization_level == getattr(ort.GraphOptimizationLevel, f"ORT_{level}")
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 3)
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL


def test_onnx_runner_steps_through_its_preallocated_buffers(mix_wav: np.ndarray) -> None:
    """step() hands back one output array whatever the frame, and the caches alternate between two fixed sets,
    while onnxruntime really writes each frame's outputs into them (equal to a plain session.run of that frame)."""
    runner = registry.create("gtcrn-onnx", model="published-onnx")
    spec = spectrum(mix_wav[:16000]).numpy()
    runner.reset()
    caches = {name: np.zeros(shape, dtype=np.float32) for name, shape in CACHE_SHAPES.items()}
    enh_outputs, enh_values, cache_pointers = [], [], []
    for t in range(8):
        frame = np.ascontiguousarray(spec[:, :, t : t + 1])
        enh = runner.step(frame)
        expected = runner.session.session.run(None, {"mix": frame, **caches})  # numpy in, fresh arrays out
        np.testing.assert_array_equal(enh, expected[0])
        written = runner.session.caches()
        for (name, value), new in zip(written.items(), expected[1:], strict=True):
            np.testing.assert_array_equal(value, new)
            caches[name] = new
        enh_outputs.append(enh)
        enh_values.append(enh.copy())
        cache_pointers.append({name: a.ctypes.data for name, a in written.items()})
    first = enh_outputs[0]
    assert all(e is first and e.ctypes.data == first.ctypes.data for e in enh_outputs)
    assert not all(np.array_equal(v, enh_values[0]) for v in enh_values)  # new content each frame, same buffer
    pointers_a, pointers_b = cache_pointers[0], cache_pointers[1]
    assert set(pointers_a.values()).isdisjoint(pointers_b.values())  # two distinct buffer sets ...
    assert cache_pointers == [pointers_a, pointers_b] * 4  # ... alternating, never reallocated


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=ORT_IR_VERSION)
    onnx.save(model, str(path))
    return path


def _tensor(name: str, shape: tuple[int | str, ...], dtype: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, list(shape))


def test_graph_without_the_interface_is_refused_listing_both(tmp_path: Path) -> None:
    wrong = _save(
        helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"])],
            "wrong",
            [_tensor("x", (1, 257, 2))],
            [_tensor("y", (1, 257, 2))],
        ),
        tmp_path / "wrong.onnx",
    )
    with pytest.raises(CheckpointError) as err:
        registry.create("gtcrn-onnx", model=str(wrong))
    message = str(err.value)
    assert "inputs [x (1,257,2) float32] and outputs [y (1,257,2) float32]" in message
    assert "expected inputs [mix (1,257,1,2) float32; conv_cache (2,1,16,16,33) float32;" in message
    assert "inter_cache_out (2,1,33,16) float32]" in message

    # right names, but float64 and a dynamic batch on mix
    names = ["mix", *CACHE_SHAPES]
    inputs = [_tensor("mix", ("batch", 257, 1, 2), TensorProto.DOUBLE)]
    inputs += [_tensor(n, s) for n, s in CACHE_SHAPES.items()]
    outputs = [_tensor("enh", ("batch", 257, 1, 2), TensorProto.DOUBLE)]
    outputs += [_tensor(f"{n}_out", s) for n, s in CACHE_SHAPES.items()]
    nodes = [helper.make_node("Identity", [n], [o.name]) for n, o in zip(names, outputs, strict=True)]
    typed = _save(helper.make_graph(nodes, "typed", inputs, outputs), tmp_path / "typed.onnx")
    with pytest.raises(CheckpointError, match=r"inputs \[mix \(batch,257,1,2\) float64; conv_cache"):
        FrameSession(typed)

    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a protobuf")
    with pytest.raises(CheckpointError, match=r"garbage\.onnx: onnxruntime cannot load it"):
        FrameSession(garbage)


def _nan_from_frame(path: Path, frame: int) -> Path:
    """A graph with the interface whose ``enh`` is ``mix`` until ``frame``, NaN from then on.

    ``tra_cache`` counts frames (+1 per call); enh = mix + 0 * sqrt(frame - 0.5 - count).
    """
    limit = numpy_helper.from_array(np.array(frame - 0.5, dtype=np.float32), "limit")
    zero = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")
    one = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")
    nodes = [
        helper.make_node("Add", ["tra_cache", "one"], ["tra_cache_out"]),
        helper.make_node("ReduceMax", ["tra_cache"], ["count"], keepdims=0),
        helper.make_node("Sub", ["limit", "count"], ["room"]),
        helper.make_node("Sqrt", ["room"], ["root"]),
        helper.make_node("Mul", ["root", "zero"], ["nothing"]),
        helper.make_node("Add", ["mix", "nothing"], ["enh"]),
        helper.make_node("Identity", ["conv_cache"], ["conv_cache_out"]),
        helper.make_node("Identity", ["inter_cache"], ["inter_cache_out"]),
    ]
    inputs = [_tensor("mix", MIX_SHAPE), *(_tensor(n, s) for n, s in CACHE_SHAPES.items())]
    outputs = [_tensor("enh", MIX_SHAPE), *(_tensor(f"{n}_out", s) for n, s in CACHE_SHAPES.items())]
    return _save(helper.make_graph(nodes, "nan", inputs, outputs, [limit, zero, one]), path)


def test_nan_in_the_output_is_reported_with_its_first_frame(tmp_path: Path, mix_wav: np.ndarray) -> None:
    runner = registry.create("gtcrn-onnx", model=str(_nan_from_frame(tmp_path / "nan.onnx", 11)))
    with pytest.raises(NonFiniteOutputError, match=r"first appeared in frame 11 \(t = 0.176 s\) in enh") as err:
        runner.process(mix_wav[:16000])
    assert err.value.frame == 11
    # the same graph is fine on a signal that ends before frame 11 (10 frames)
    assert np.all(np.isfinite(runner.process(mix_wav[: 9 * 256 + 100])))


def _with_noop_chain(source: Path, dest: Path, length: int = 500) -> Path:
    """The graph plus ``length`` Tanh nodes on conv_cache whose sum, times 0, is added to ``enh``.

    The numbers do not change (tanh is bounded, so 0 * sum is 0) but every frame
    does the extra work: a graph made slow on purpose.
    """
    model = onnx.load(str(source))
    producer = next(n for n in model.graph.node if "enh" in n.output)
    producer.output[list(producer.output).index("enh")] = "enh_core"
    chain = ["conv_cache"]
    for i in range(length):
        model.graph.node.append(helper.make_node("Tanh", [chain[-1]], [f"noop_{i}"]))
        chain.append(f"noop_{i}")
    model.graph.initializer.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "noop_zero"))
    model.graph.node.extend(
        [
            helper.make_node("ReduceSum", [chain[-1]], ["noop_sum"], keepdims=0),
            helper.make_node("Mul", ["noop_sum", "noop_zero"], ["noop_nothing"]),
            helper.make_node("Add", ["enh_core", "noop_nothing"], ["enh"]),
        ]
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    return dest


def test_verify_passes_on_the_real_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "verify.json"
    args = ["verify", "--checkpoint", "dns3-stream", "--reference-onnx", "published-onnx", "--json", str(out)]
    result = cli.invoke(app, [*args, "--latency-frames", "1000"])
    assert result.exit_code == 0, result.output
    assert "verify passed: all 7 checks" in flat(result.output)
    report = json.loads(out.read_text())
    assert report["passed"] and report["info"]["files"] == ["mix.wav"]  # the default input
    stages = {(e["stage"], e["file"]) for e in report["errors"]}
    assert stages == {(s, "mix.wav") for s in ("offline", "stream", "export", "reference")}
    latency = {g["stage"]: g for g in report["latency"]}
    assert latency["reference"]["nodes"] == PUBLISHED_NODES and latency["reference"]["ratio_to_reference"] == 1.0
    assert latency["export"]["ratio_to_reference"] > 0 and latency["export"]["frames"] == 1000


def test_verify_fails_on_a_perturbed_checkpoint(tmp_path: Path, excerpt: Path) -> None:
    checkpoint = torch.load(store.resolve("dns3-stream"), map_location="cpu", weights_only=True)
    checkpoint["model"][MASK_WEIGHT] *= 1.01  # the mask layer, 1 % off
    perturbed = tmp_path / "perturbed.tar"
    torch.save(checkpoint, perturbed)
    args = ["verify", "--checkpoint", str(perturbed), "--reference-onnx", "published-onnx", str(excerpt)]
    result = cli.invoke(app, [*args, "--latency-frames", "200"])
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    # the conversion of the perturbed weights is consistent; the published graph no longer matches them
    assert "FAIL reference: waveform max abs error" in output and "exceeds tolerance 1e-05" in output
    assert "FAIL reference: spectrum max abs error" in output
    assert "FAIL export" not in output and "FAIL stream" not in output
    assert "verify failed: 2 of 7 checks failed" in output
    # tolerances are overridable: loose enough, the same comparison passes
    loose = cli.invoke(app, [*args, "--latency-frames", "200", "--tol-waveform", "1", "--tol-spectrum", "100"])
    assert loose.exit_code == 0, loose.output


def test_verify_names_the_first_non_finite_frame(tmp_path: Path, excerpt: Path) -> None:
    nan = _nan_from_frame(tmp_path / "nan.onnx", 11)
    out = tmp_path / "verify.json"
    args = ["verify", "--checkpoint", "dns3-stream", "--onnx", str(nan), str(excerpt), "--json", str(out)]
    result = cli.invoke(app, [*args, "--latency-frames", "20"])
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    for domain in ("spectrum", "waveform"):
        assert (
            f"FAIL export: {domain} error vs offline PyTorch is not finite: its output is NaN or Inf "
            f"from frame 11 (t = 0.176 s) of {excerpt}"
        ) in output
    assert "FAIL stream" not in output and "verify failed: 2 of 4 checks failed" in output
    report = json.loads(out.read_text())
    frames = {e["stage"]: e["first_non_finite_frame"] for e in report["errors"]}
    assert frames == {"offline": None, "stream": None, "export": 11}


def test_verify_refuses_timing_no_frames() -> None:
    result = cli.invoke(app, ["verify", "--checkpoint", "dns3-stream", "--latency-frames", "0"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)  # a usage error, not a ValueError
    assert "Invalid value for '--latency-frames'" in flat(result.output)  # click's wording of a min= violation


def test_verify_fails_on_a_graph_made_slow(tmp_path: Path, exported: ExportResult, excerpt: Path) -> None:
    slow = _with_noop_chain(exported.path, tmp_path / "slow.onnx")
    args = ["verify", "--checkpoint", "dns3-stream", "--onnx", str(slow), "--reference-onnx", "published-onnx"]
    result = cli.invoke(app, [*args, str(excerpt), "--latency-frames", "300"])
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    assert "FAIL export:" in output and "the reference graph's per-frame time" in output
    assert "exceeds the allowed 1.25x" in output
    assert "verify failed: 1 of 7 checks failed" in output  # the numbers are untouched


def test_runner_exports_a_checkpoint_once_and_matches_pytorch(mix_wav: np.ndarray) -> None:
    """gtcrn-onnx with checkpoint= uses the project's cached export of those weights."""
    from gtcrn_bench.runners import registry

    first = registry.create("gtcrn-onnx", checkpoint="vctk")
    graph = first.session.path
    assert graph.is_file() and graph.with_suffix(".json").is_file()
    mtime = graph.stat().st_mtime_ns
    second = registry.create("gtcrn-onnx", checkpoint="vctk")
    assert second.session.path == graph and graph.stat().st_mtime_ns == mtime  # built once, then reused
    offline = registry.create("gtcrn-offline", checkpoint="vctk").process(mix_wav[:32000])
    # 1e-5: the export equals the PyTorch model to ~1e-7 on the waveform (the verify default tolerance)
    assert np.abs(second.process(mix_wav[:32000]) - offline).max() <= 1e-5
    with pytest.raises(ConfigError, match="not both"):
        registry.create("gtcrn-onnx", checkpoint="vctk", model="published-onnx")
