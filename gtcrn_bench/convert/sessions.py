"""Stepping a converted artefact one frame at a time in its own runtime, caches carried between calls.

Each session has the published streaming interface's meaning: ``step(mix)``
takes one (1, 257, 1, 2) float32 spectrum frame and returns the enhanced
frame; the caches it returns are fed back on the next call; ``reset`` zeroes them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gtcrn_bench.onnx.interface import CACHE_SHAPES, INPUT_NAMES, MIX_SHAPE

if TYPE_CHECKING:
    import ncnn


class Session(ABC):
    """One artefact loaded in its runtime, stepped frame by frame."""

    #: the precision the runtime reports it computes in, where it chooses one (OpenVINO); None: as stored
    inference_precision: str | None = None

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        self.threads = threads

    @abstractmethod
    def reset(self) -> None:
        """Zero the caches: the next frame starts a new stream."""

    @abstractmethod
    def step(self, mix: np.ndarray) -> np.ndarray:
        """One frame in, the enhanced frame out (the array may be overwritten by the next call)."""

    @abstractmethod
    def op_count(self) -> int:
        """Operators the runtime executes per frame (as its own graph lists them)."""


class OrtSession(Session):
    """ONNX graphs (float16 or int8 inside, float32 interface) in onnxruntime, through :class:`FrameSession`."""

    def __init__(self, path: Path, threads: int) -> None:
        from gtcrn_bench.onnx.session import FrameSession

        super().__init__(path, threads)
        self.frames = FrameSession(path, intra_threads=threads)

    def reset(self) -> None:
        self.frames.reset()

    def step(self, mix: np.ndarray) -> np.ndarray:
        return self.frames.step(mix)

    def op_count(self) -> int:
        import onnx

        return len(onnx.load(str(self.path)).graph.node)


def _zero_caches() -> dict[str, np.ndarray]:
    return {name: np.zeros(shape, dtype=np.float32) for name, shape in CACHE_SHAPES.items()}


class OpenVINOSession(Session):
    """An OpenVINO IR on the CPU plugin, one inference thread, float32 inference precision forced.

    The CPU plugin would otherwise run in bf16 on CPUs that have it (AVX-512
    BF16, AMX), which is a precision change the float32 row must not hide.
    """

    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        super().__init__(path, threads)
        core = ov.Core()
        self.model = core.read_model(str(path))
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
        }
        self.compiled = core.compile_model(self.model, "CPU", config)
        self.inference_precision = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        self.request = self.compiled.create_infer_request()
        self.mix = np.zeros(MIX_SHAPE, dtype=np.float32)
        self.caches = _zero_caches()
        self._out_names = [o.get_any_name() for o in self.compiled.outputs]

    def reset(self) -> None:
        self.caches = _zero_caches()

    def step(self, mix: np.ndarray) -> np.ndarray:
        np.copyto(self.mix, mix)
        feeds = {"mix": self.mix, **self.caches}
        self.request.infer([feeds[n] for n in INPUT_NAMES], share_inputs=True)
        outputs = dict(zip(self._out_names, (t.data for t in self.request.output_tensors), strict=True))
        self.caches = {name: outputs[f"{name}_out"].copy() for name in CACHE_SHAPES}
        return outputs["enh"]

    def op_count(self) -> int:
        skip = {"Parameter", "Result", "Constant"}
        return sum(op.get_type_name() not in skip for op in self.model.get_ordered_ops())


class LiteRTSession(Session):
    """A .tflite model in ai-edge-litert's interpreter (XNNPACK delegate, its default on CPU), one thread.

    The model has the flat interface of the converted module (mix (257, 2),
    caches of rank 2), in the published order; frames are reshaped at the edges.
    """

    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        super().__init__(path, threads)
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.inputs = [d["index"] for d in sorted(self.interpreter.get_input_details(), key=lambda d: d["name"])]
        self.outputs = [d["index"] for d in sorted(self.interpreter.get_output_details(), key=lambda d: d["name"])]
        self.shapes = [tuple(d["shape"]) for d in sorted(self.interpreter.get_input_details(), key=lambda d: d["name"])]
        self.reset()

    def reset(self) -> None:
        self.caches = [np.zeros(s, dtype=np.float32) for s in self.shapes[1:]]

    def step(self, mix: np.ndarray) -> np.ndarray:
        run = self.interpreter
        run.set_tensor(self.inputs[0], np.ascontiguousarray(mix, dtype=np.float32).reshape(self.shapes[0]))
        for index, cache in zip(self.inputs[1:], self.caches, strict=True):
            run.set_tensor(index, cache)
        run.invoke()
        self.caches = [run.get_tensor(i) for i in self.outputs[1:]]
        return run.get_tensor(self.outputs[0]).reshape(MIX_SHAPE)

    def op_count(self) -> int:
        return len(self.interpreter._get_ops_details())  # the interpreter's only listing of its operators


class NcnnSession(Session):
    """An ncnn param/bin in ncnn's CPU runtime, one thread, float32 storage and arithmetic forced.

    ncnn would otherwise keep activations in float16 on CPUs with F16C (x86)
    or half-precision arithmetic (ARMv8.2), a precision change the float32 row
    must not hide. The interface is the batch-1 form's without its batch axis
    (:data:`gtcrn_bench.models.batch_stream.SHAPES`); pnnx names the blobs
    in0..in3 and out0..out3 in the published order.
    """

    _REDUCED = ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_packed", "use_bf16_storage")

    def __init__(self, path: Path, threads: int) -> None:
        import ncnn

        from gtcrn_bench.models.batch_stream import SHAPES

        super().__init__(path, threads)
        self._ncnn = ncnn
        self.net = ncnn.Net()
        self.net.opt.num_threads = threads
        for option in self._REDUCED:
            setattr(self.net.opt, option, False)
        self.inference_precision = "f32"
        if self.net.load_param(str(path)) != 0 or self.net.load_model(str(path.with_suffix(".bin"))) != 0:
            raise RuntimeError(f"ncnn could not load {path} and its .bin")
        self.shapes = [shape[1:] for shape in SHAPES.values()]
        self.reset()

    def reset(self) -> None:
        self.caches = [np.zeros(shape, dtype=np.float32) for shape in self.shapes[1:]]

    def _mat(self, array: np.ndarray) -> ncnn.Mat:
        # a Mat wrapping numpy's buffer crashes ncnn's layers (they read past its end, measured: SIGSEGV in the
        # first UnaryOp); a copy has ncnn's own aligned allocation
        return self._ncnn.Mat(np.ascontiguousarray(array, dtype=np.float32)).clone()

    def step(self, mix: np.ndarray) -> np.ndarray:
        extractor = self.net.create_extractor()
        for k, array in enumerate((mix.reshape(self.shapes[0]), *self.caches)):
            extractor.input(f"in{k}", self._mat(array))
        outs = []
        for k in range(4):
            status, mat = extractor.extract(f"out{k}")
            if status != 0:
                raise RuntimeError(f"ncnn failed to compute out{k} (status {status})")
            outs.append(np.array(mat).reshape(self.shapes[k]))
        self.caches = outs[1:]
        return outs[0].reshape(MIX_SHAPE)

    def op_count(self) -> int:
        lines = self.path.read_text().splitlines()[2:]  # magic number, then layer and blob counts
        return sum(1 for line in lines if line.strip() and line.split()[0] != "Input")


SESSIONS: dict[str, type[Session]] = {
    "onnxruntime": OrtSession,
    "openvino": OpenVINOSession,
    "ai-edge-litert": LiteRTSession,
    "ncnn": NcnnSession,
}
