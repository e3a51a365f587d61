"""Conversion targets: how each deployable artefact is made from the float32 ONNX export, and what it needs.

Every target starts from the project's export (:func:`gtcrn_bench.onnx.export.export_onnx`:
batch norm folded, Conv1d only, fused GRUs, no ConvTranspose), which is the
form these converters accept. Converters are imported inside the build
functions, so a missing optional package only disables its own target.

==================  =====================  ===========================================================
target              package (extra)        what is made
==================  =====================  ===========================================================
onnx-fp16           onnxconverter-common   float16 weights and compute, float32 inputs/outputs
onnx-int8-dynamic   onnxruntime            weights int8, activations quantised at run time (MatMul,
                                           Conv, Gemm); GRU stays float (onnxruntime has no int8 GRU)
onnx-int8-static    onnxruntime            QDQ int8 with ranges from the calibration set
openvino            openvino               OpenVINO IR (float32 weights), run with f32 precision forced
openvino-int8       nncf                   NNCF post-training quantisation with the calibration set
==================  =====================  ===========================================================
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtcrn_bench.errors import ConfigError

if TYPE_CHECKING:
    from gtcrn_bench.convert.calibration import CalibrationSet


@dataclass(frozen=True)
class BuildInputs:
    """What a converter starts from: the float32 ONNX export (or, for PyTorch converters, the checkpoint),
    (for static quantisation) calibration feeds, and (for a target made from another) that target's artefact."""

    onnx_path: Path
    out_dir: Path
    calibration: CalibrationSet | None
    checkpoint: Path
    base: Path | None = None


@dataclass(frozen=True)
class Built:
    """A converter's result: the file a runtime loads, every file of the artefact, and notes for the sidecar."""

    main: Path
    files: tuple[Path, ...]
    notes: dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One conversion target.

    ``packages``: distributions the converter and runtime need (the target is
    unavailable without them); ``runtime``: the distribution whose version is
    reported as the runtime's; ``precision``: float32 targets are held to
    ``verify``'s tolerances, the others to quality deltas; ``isolated``: the
    converter runs in a process of its own (litert-torch imports JAX, whose
    threads make any later ``fork`` of this process liable to deadlock: the
    suite's worker pool and the tests fork); ``base``: the target whose
    artefact this one is made from (built first, from the store's cache).
    """

    name: str
    packages: tuple[str, ...]
    runtime: str
    precision: str
    calibrated: bool
    build: Callable[[BuildInputs], Built]
    extra: str
    isolated: bool = False
    base: str | None = None

    def missing(self) -> list[str]:
        """The packages of this target that are not installed."""
        out = []
        for name in self.packages:
            try:
                version(name)
            except PackageNotFoundError:
                out.append(name)
        return out

    def runtime_version(self) -> str:
        return f"{self.runtime} {version(self.runtime)}"


def onnx_op_types(path: Path) -> Counter[str]:
    """Node count by op type of an ONNX graph."""
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def float_ops_with_weights(path: Path) -> list[str]:
    """Op types still reading float32 weight matrices after conversion (an input that is a float32 initializer).

    Weights are initializers of two or more dimensions; the QDQ form's float
    weights feed DequantizeLinear's inverse (QuantizeLinear is folded away), so
    for it this lists the ops whose weights were left unquantised.
    """
    import onnx

    model = onnx.load(str(path))
    floats = {
        init.name
        for init in model.graph.initializer
        if init.data_type == onnx.TensorProto.FLOAT and len(init.dims) >= 2
    }
    return sorted({node.op_type for node in model.graph.node if any(i in floats for i in node.input)})


DSP_WEIGHTS = frozenset({"erb_weight", "ierb_weight", "rotation", "sfe_kernel"})


def dsp_nodes(path: Path) -> list[str]:
    """Nodes of the fixed signal processing (ERB filterbank and its inverse, the complex mask's rotation, the
    neighbour unfold), which int8 targets keep float.

    Their inputs are raw spectrum values spanning ~1e-4 to ~30 in one frame: one
    int8 scale per tensor leaves the quiet bins at zero (measured: waveform SNR
    3.8 dB against float32 with them quantised). They hold no learned weights and
    ~2 % of the MACs.
    """
    import onnx

    model = onnx.load(str(path))
    return [node.name for node in model.graph.node if DSP_WEIGHTS & set(node.input)]


def grouped_conv_nodes(path: Path) -> list[str]:
    """Grouped (depthwise temporal) Conv nodes, which dynamic int8 keeps float.

    onnxruntime's dynamic ConvInteger scales the weight per tensor, and the
    depthwise kernels' channels differ in range by orders of magnitude: measured
    on dns3-stream, quantising ``decoder.1``'s or ``decoder.2``'s temporal Conv
    alone drops the waveform SNR against float32 to 7 dB and 5 dB (every other
    Conv alone: >= 36 dB); with all grouped Convs kept float the model is at 32 dB.
    """
    import onnx

    model = onnx.load(str(path))
    return [
        node.name
        for node in model.graph.node
        if node.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in node.attribute)
    ]


def _fp16(inputs: BuildInputs) -> Built:
    """float16 everywhere except the graph's inputs and outputs (cast at the edges)."""
    import onnx
    from onnxconverter_common import float16

    # the ``+ 1e-12`` under the magnitude's square root is below float16's smallest subnormal: the converter
    # raises it to 1e-7 (min_positive_val), which changes only digitally silent bins
    model = float16.convert_float_to_float16(onnx.load(str(inputs.onnx_path)), keep_io_types=True)
    out = inputs.out_dir / "gtcrn-fp16.onnx"
    onnx.save(model, str(out))
    return Built(out, (out,), {"float_ops_with_weights": float_ops_with_weights(out)})


def _int8_dynamic(inputs: BuildInputs) -> Built:
    """Weights int8 (per channel), activations quantised per call; what onnxruntime cannot quantise stays float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = inputs.out_dir / "gtcrn-int8-dynamic.onnx"
    kept = dsp_nodes(inputs.onnx_path) + grouped_conv_nodes(inputs.onnx_path)
    # reduce_range: 7-bit weights. onnxruntime's u8 x s8 kernel on CPUs without VNNI (AVX2's vpmaddubsw) adds
    # pairs of products in saturating int16, which full-range weights overflow: measured on an AVX2-only EPYC,
    # waveform SNR against float32 20.7 dB with full range, 30.0 and 31.6 dB with 7 bits on two mini pairs (32 dB
    # with full range on a VNNI CPU). 7 bits cannot overflow, so the artefact's numbers do not depend on the CPU.
    quantize_dynamic(
        inputs.onnx_path,
        out,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        nodes_to_exclude=kept,
    )
    notes = {"float_ops_with_weights": float_ops_with_weights(out), "kept_float": kept, "reduce_range": True}
    return Built(out, (out,), notes)


class _FeedReader:
    """onnxruntime's calibration reader protocol over a :class:`CalibrationSet`."""

    def __init__(self, calibration: CalibrationSet) -> None:
        self._feeds = iter(calibration.feeds)

    def get_next(self) -> dict | None:
        return next(self._feeds, None)


STATIC_INT8_OPS = ("Conv", "Gemm", "MatMul")


def _int8_static(inputs: BuildInputs) -> Built:
    """QDQ int8 (int8 weights per channel, int8 activations) with min/max ranges from the calibration frames."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    calibration = _need_calibration(inputs)
    kept = dsp_nodes(inputs.onnx_path)
    out = inputs.out_dir / "gtcrn-int8-static.onnx"
    quantize_static(
        inputs.onnx_path,
        out,
        _FeedReader(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=CalibrationMethod.MinMax,
        # onnxruntime's per-channel QDQ takes a weight's first axis as its output channels: wrong for
        # ConvTranspose ((in, out, k): "operands could not be broadcast together with shapes (16,) (8,)") and
        # for LayerNormalization's bias (DequantizeLinear rejects the scales at run time); GRU has no int8
        # kernel. Those stay float.
        op_types_to_quantize=list(STATIC_INT8_OPS),
        nodes_to_exclude=kept,
        # onnxruntime's widening of weight scales for int32 biases fails on per-channel scales here
        # ("truth value of an array ... is ambiguous"); the bias stays int32 with the weight's own scale
        extra_options={"QDQDisableWeightAdjustForInt32Bias": True},
    )
    notes = {"float_ops_with_weights": float_ops_with_weights(out), "kept_float": kept}
    return Built(out, (out,), notes | {"calibration": calibration.describe()})


def _need_calibration(inputs: BuildInputs) -> CalibrationSet:
    if inputs.calibration is None:
        raise ConfigError("this target is calibrated: give calibration audio (--data)")
    return inputs.calibration


def _openvino(inputs: BuildInputs) -> Built:
    """OpenVINO IR converted from the ONNX, weights kept float32 (not compressed to fp16)."""
    import openvino as ov

    out = inputs.out_dir / "gtcrn-openvino.xml"
    ov.save_model(ov.convert_model(str(inputs.onnx_path)), str(out), compress_to_fp16=False)
    return Built(out, (out, out.with_suffix(".bin")), {})


def _openvino_int8(inputs: BuildInputs) -> Built:
    """NNCF post-training quantisation of the OpenVINO IR with the calibration frames."""
    import nncf
    import openvino as ov

    calibration = _need_calibration(inputs)
    model = ov.convert_model(str(inputs.onnx_path))
    kept = dsp_nodes(inputs.onnx_path)  # OpenVINO keeps the ONNX node names
    quantised = nncf.quantize(
        model,
        nncf.Dataset(calibration.feeds),
        subset_size=len(calibration.feeds),
        preset=nncf.QuantizationPreset.MIXED,
        ignored_scope=nncf.IgnoredScope(names=kept, validate=False),
        # NNCF 3.4's fast bias correction fails on this graph (IndexError in its OpenVINO backend, once the
        # attention is the export's Gemm form); the quantisation itself does not need it
        advanced_parameters=nncf.AdvancedQuantizationParameters(disable_bias_correction=True),
    )
    out = inputs.out_dir / "gtcrn-openvino-int8.xml"
    ov.save_model(quantised, str(out), compress_to_fp16=False)
    return Built(out, (out, out.with_suffix(".bin")), {"kept_float": kept, "calibration": calibration.describe()})


# layer types pnnx writes that are not ncnn layers (pnnx's own, or PyTorch ops it passed through)
_NOT_NCNN = ("torch.", "aten::", "Tensor.", "pnnx.")


def _ncnn(inputs: BuildInputs) -> Built:
    """pnnx traces the batch-1 form and writes ncnn's param/bin (float32 weights); refused if ops ncnn lacks remain.

    The batch-1 form (:mod:`gtcrn_bench.models.batch_stream`) exists because
    pnnx drops axis 0 of every tensor as ncnn's absent batch axis. pnnx stores
    weights as float16 unless told not to (measured: 1e-4 relative error on
    the ERB product), so ``fp16=False``: this is a float32 target.
    """
    import pnnx
    import torch

    from gtcrn_bench.models.batch_stream import SHAPES, to_batch_stream
    from gtcrn_bench.models.checkpoint import load_gtcrn

    module = to_batch_stream(load_gtcrn(inputs.checkpoint))
    example = tuple(torch.zeros(s) for s in SHAPES.values())
    try:
        pnnx.export(module, str(inputs.out_dir / "gtcrn.pt"), example, fp16=False)
    except SyntaxError as exc:  # on graphs it cannot map (the lean form's fused ops) pnnx writes ncnn's files,
        note = f"pnnx's generated Python did not compile ({exc.msg})"  # then fails compiling its debugging script
    else:
        note = ""
    param = inputs.out_dir / "gtcrn.ncnn.param"
    if not param.is_file():
        raise RuntimeError(f"pnnx wrote no ncnn param file. {note}")
    layers = Counter(line.split()[0] for line in param.read_text().splitlines()[2:] if line.strip())
    foreign = {k: v for k, v in layers.items() if k.startswith(_NOT_NCNN)}
    if foreign:
        listed = ", ".join(f"{k} x{v}" for k, v in sorted(foreign.items(), key=lambda kv: -kv[1]))
        raise RuntimeError(f"pnnx left {sum(foreign.values())} layers ncnn has no kernel for: {listed}")
    return Built(param, (param, param.with_suffix(".bin")), {"layers": dict(layers), "weights": "float32"})


def _litert(inputs: BuildInputs) -> Built:
    """litert-torch converts the flat-interface lean form (its transposed convolutions as ordinary ones) to .tflite.

    The plain export form fails in the converter ("failed to legalize operation
    'mhlo.convolution'": the grouped transposed convolution), hence the
    zero-stuffed form (:meth:`~gtcrn_bench.models.export_stream.FoldedConv1d.stuffed`).
    """
    import litert_torch

    from gtcrn_bench.convert.flat import FlatCacheStream

    module = FlatCacheStream(inputs.checkpoint).eval()
    out = inputs.out_dir / "gtcrn.tflite"
    litert_torch.convert(module, FlatCacheStream.example()).export(str(out))
    return Built(out, (out,), {})


# ops whose weights litert-int8 quantises; BATCH_MATMUL stays float: XNNPACK/TFLite's BATCH_MATMUL takes int8
# only on its right operand, and the lean form's tap convolutions and the DSP products hold the weight on the
# left (the interpreter refuses the model: "Node number 66 (BATCH_MATMUL) failed to prepare")
LITERT_INT8_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


def _litert_int8(inputs: BuildInputs) -> Built:
    """ai-edge-quantizer's dynamic range quantisation (int8 weights per channel, activations quantised at run
    time) of the ``litert`` artefact, on the ops of :data:`LITERT_INT8_OPS`."""
    from ai_edge_quantizer import qtyping, quantizer

    if inputs.base is None:
        raise ConfigError("litert-int8 is made from the litert artefact")
    out = inputs.out_dir / "gtcrn-int8.tflite"
    engine = quantizer.Quantizer(str(inputs.base))
    for op in LITERT_INT8_OPS:
        engine.add_dynamic_config(".*", qtyping.TFLOperationName[op], num_bits=8)
    engine.quantize().export_model(str(out))
    return Built(out, (out,), {"recipe": "dynamic int8 weights per channel", "quantised_ops": list(LITERT_INT8_OPS)})


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("onnx-fp16", ("onnxconverter-common", "onnxruntime"), "onnxruntime", "float16", False, _fp16, "fp16"),
        Target("onnx-int8-dynamic", ("onnxruntime",), "onnxruntime", "int8", False, _int8_dynamic, "onnx"),
        Target("onnx-int8-static", ("onnxruntime",), "onnxruntime", "int8", True, _int8_static, "onnx"),
        Target("openvino", ("openvino",), "openvino", "float32", False, _openvino, "openvino"),
        Target("openvino-int8", ("openvino", "nncf"), "openvino", "int8", True, _openvino_int8, "openvino"),
        Target(
            "litert",
            ("litert-torch", "ai-edge-litert"),
            "ai-edge-litert",
            "float32",
            False,
            _litert,
            "litert",
            isolated=True,
        ),
        Target(
            "litert-int8",
            ("litert-torch", "ai-edge-litert", "ai-edge-quantizer"),
            "ai-edge-litert",
            "int8",
            False,
            _litert_int8,
            "litert",
            base="litert",
        ),
        Target("ncnn", ("pnnx", "ncnn"), "ncnn", "float32", False, _ncnn, "ncnn"),
    )
}


def get_target(name: str) -> Target:
    """The target called ``name``; :class:`ConfigError` listing the known ones otherwise."""
    if name not in TARGETS:
        raise ConfigError(f"unknown conversion target '{name}' (known: {', '.join(TARGETS)})")
    return TARGETS[name]


def copy_files(built: Built, dest: Path) -> tuple[Path, ...]:
    """The artefact's files moved under ``dest`` (same names)."""
    dest.mkdir(parents=True, exist_ok=True)
    return tuple(Path(shutil.move(str(f), dest / f.name)) for f in built.files)
