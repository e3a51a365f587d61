"""Exporting the streaming GTCRN to ONNX, cleaning the graph, checking it, and recording how it was made.

The defaults are the combination measured fastest in onnxruntime (see the
README's ONNX section and ``tests/benchmarks/test_onnx_bench.py``): the
export-oriented module (:mod:`gtcrn_bench.models.export_stream`) through
PyTorch's TorchScript ("legacy") exporter at opset 17, cleaned by onnxslim.
The other exporter, the plain streaming module and onnxsim remain selectable
to compare against. With torch 2.13 the dynamo exporter gives an equally fast
graph of this module, but its optimiser drops the ``+ 1e-12`` under the
magnitude's square root (other output on digitally silent bins), it needs
onnxscript and exports 5x slower.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

import gtcrn_bench
from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ConfigError, GtcrnBenchError
from gtcrn_bench.files import write_json
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.export_stream import to_export_stream
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.onnx.compare import ErrorStats, Probe, probe_inputs, spectrum, torch_single_thread, waveform
from gtcrn_bench.onnx.interface import INPUT_NAMES, MIX_SHAPE, OUTPUT_NAMES
from gtcrn_bench.onnx.session import FrameSession, NonFiniteOutputError
from gtcrn_bench.store import resolve

EXPORTERS = ("legacy", "dynamo")
VARIANTS = ("export", "stream")
SIMPLIFIERS = ("onnxslim", "onnxsim", "none")
DEFAULT_OPSET = {"legacy": 17, "dynamo": 18}  # 17: first opset with LayerNormalization; 18: dynamo's minimum
CHECK_FRAMES = 625  # frames (10 s) of the probe signal compared with the PyTorch streaming model


@dataclass(frozen=True)
class ExportOptions:
    """How to export: the PyTorch exporter, which module, which graph clean-up, the opset (None: exporter's)."""

    exporter: str = "legacy"
    variant: str = "export"
    simplifier: str = "onnxslim"
    opset: int | None = None

    def __post_init__(self) -> None:
        for key, value, allowed in (
            ("exporter", self.exporter, EXPORTERS),
            ("variant", self.variant, VARIANTS),
            ("simplifier", self.simplifier, SIMPLIFIERS),
        ):
            if value not in allowed:
                raise ConfigError(f"{key} '{value}': choose one of {', '.join(allowed)}")

    @property
    def opset_version(self) -> int:
        return self.opset if self.opset is not None else DEFAULT_OPSET[self.exporter]


@dataclass
class ExportResult:
    """The written graph, its JSON sidecar and the sidecar's content."""

    path: Path
    sidecar: Path
    info: dict[str, Any] = field(default_factory=dict)


def streaming_module(offline: GTCRN, variant: str) -> torch.nn.Module:
    """The frame-by-frame module to export: ``export`` (rearranged for ONNX) or ``stream`` (models/stream.py)."""
    return to_export_stream(offline) if variant == "export" else to_stream(offline)


def _example_inputs() -> tuple[torch.Tensor, ...]:
    return (torch.zeros(MIX_SHAPE), *zero_caches())


def _torch_export(module: torch.nn.Module, path: Path, options: ExportOptions) -> None:
    """Write ``module`` as ONNX with the published input/output names and static shapes."""
    names = {"input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES, "opset_version": options.opset_version}
    with warnings.catch_warnings():
        # The legacy exporter is deprecated but gives the fastest graph here (see the module docstring). Its
        # tracer's notes do not apply: shapes are static (batch 1) and GRU sizes are checked at trace time.
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.onnx")
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1")
        # the dynamo exporter's notes on nn.GRU's internal weight list and on a deprecated pytree API
        warnings.filterwarnings("ignore", message=".*were assigned during export")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated", category=FutureWarning)
        if options.exporter == "legacy":
            torch.onnx.export(module, _example_inputs(), str(path), dynamo=False, do_constant_folding=True, **names)
        else:
            torch.onnx.export(
                module, _example_inputs(), str(path), dynamo=True, external_data=False, verbose=False, **names
            )


def _clean_up(model: onnx.ModelProto, simplifier: str) -> onnx.ModelProto:
    """Constant folding and removal of needless nodes by onnxslim or onnxsim."""
    if simplifier == "onnxslim":
        import onnxslim

        return onnxslim.slim(model)
    if simplifier == "onnxsim":
        import onnxsim

        simplified, ok = onnxsim.simplify(model)
        if not ok:
            raise GtcrnBenchError("onnxsim could not validate its simplified graph")
        return simplified
    return model


def _tool_versions(options: ExportOptions) -> dict[str, str]:
    packages = ["torch", "onnx", "onnxruntime"]
    if options.simplifier != "none":
        packages.append(options.simplifier)
    if options.exporter == "dynamo":
        packages.append("onnxscript")
    return {"gtcrn_bench": gtcrn_bench.__version__, "python": platform.python_version()} | {
        p: version(p) for p in packages
    }


def max_errors_vs_stream(path: Path, offline: GTCRN, probe: Probe, frames: int = CHECK_FRAMES) -> dict[str, Any]:
    """Step the ONNX graph and the PyTorch streaming module side by side; largest difference of every output.

    Each runs on its own caches from zero, as a deployment would, so cache
    errors accumulate as they do in use. Also compares the waveforms. A
    difference involving NaN or Inf is recorded as None (JSON has no inf);
    ``first_non_finite`` names the first frame where one of the graph's
    outputs held NaN or Inf, and whether the PyTorch module's did too (None: all finite).
    """
    reference = to_stream(offline)
    session = FrameSession(path)
    spec = spectrum(probe.wave)[:, :, :frames]
    caches = zero_caches()
    worst = dict.fromkeys(OUTPUT_NAMES, 0.0)
    first_non_finite = None
    onnx_frames, torch_frames = [], []
    with torch.inference_mode(), torch_single_thread():
        for t in range(spec.shape[2]):
            frame = spec[:, :, t : t + 1]
            expected = reference(frame, *caches)
            enh = session.step(frame.numpy()).copy()
            bad = session.non_finite_outputs()
            if bad and first_non_finite is None:
                torch_finite = all(bool(torch.isfinite(e).all()) for e in expected)
                first_non_finite = {"frame": t, "outputs": bad, "pytorch_finite": torch_finite}
            got = [enh, *(c.copy() for c in session.caches().values())]  # caches written by this step
            for name, a, b in zip(OUTPUT_NAMES, got, expected, strict=True):
                # inf when either side holds NaN or Inf: a plain max of the differences would hide a NaN
                worst[name] = max(worst[name], ErrorStats.between(a, b.numpy()).max_abs)
            caches = expected[1:]
            onnx_frames.append(got[0])
            torch_frames.append(expected[0].numpy())
    wave_error = ErrorStats.between(
        waveform(torch.from_numpy(np.concatenate(onnx_frames, axis=2))),
        waveform(torch.from_numpy(np.concatenate(torch_frames, axis=2))),
    )
    return {
        "probe": probe.name,
        "frames": int(spec.shape[2]),
        "max_abs_error": {name: (v if np.isfinite(v) else None) for name, v in worst.items()},
        "waveform": wave_error.to_dict(),
        "first_non_finite": first_non_finite,
    }


def _non_finite_weights(model: torch.nn.Module) -> list[str]:
    """Names of the state-dict tensors holding NaN or Inf (the checkpoint's keys: GTCRN loads strictly)."""
    return [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def _non_finite_export_error(checkpoint: str | Path, offline: GTCRN, check: dict[str, Any]) -> NonFiniteOutputError:
    """Why the export is refused: where the graph's output first went non-finite, and the likely cause."""
    found = check["first_non_finite"]
    if found["pytorch_finite"]:
        cause = "the PyTorch streaming model's outputs are finite there, so the conversion broke them"
    else:
        cause = "the PyTorch streaming model's outputs are not finite there either"
        weights = _non_finite_weights(offline)
        if weights:
            shown = ", ".join(weights[:3]) + (f" and {len(weights) - 3} more" if len(weights) > 3 else "")
            cause += f": the checkpoint holds NaN or Inf in {shown}"
    what = f"export of {checkpoint}: the exported graph's output on {check['probe']}"
    return NonFiniteOutputError.first_in(what, found["frame"], found["outputs"], f"{cause}; nothing was written")


def export_onnx(
    checkpoint: str | Path,
    out: str | Path,
    options: ExportOptions | None = None,
    probe: Probe | None = None,
    *,
    require_finite: bool = True,
) -> ExportResult:
    """Export ``checkpoint`` (alias or path) as a streaming ONNX graph at ``out``; sidecar JSON next to it.

    The graph passes ``onnx.checker`` (full check) and the published-interface
    check; its outputs are compared with the PyTorch streaming model on
    ``probe`` (default: ``mix.wav`` from the store, else generated noise).
    A graph whose outputs hold NaN or Inf on the probe raises
    :class:`NonFiniteOutputError` naming the first such frame, and nothing is
    written; ``require_finite=False`` writes it anyway (``verify`` reports it as failed checks instead).
    """
    options = options or ExportOptions()
    out = Path(out)
    if out.suffix == ".json":
        raise ConfigError(f"{out}: the graph needs another name than its .json sidecar (e.g. {out.stem}.onnx)")
    checkpoint_path = resolve(checkpoint)
    offline = load_gtcrn(checkpoint)
    with tempfile.TemporaryDirectory(prefix="gtcrn-export-") as tmp:  # nothing half-made lands at ``out``
        raw, staged = Path(tmp) / "raw.onnx", Path(tmp) / "graph.onnx"
        _torch_export(streaming_module(offline, options.variant), raw, options)
        exported = onnx.load(str(raw))
        model = _clean_up(exported, options.simplifier)
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as exc:
            raise GtcrnBenchError(f"{out}: the exported graph fails onnx.checker: {str(exc).splitlines()[0]}") from exc
        onnx.save(model, str(staged))
        check = max_errors_vs_stream(staged, offline, probe or probe_inputs()[0])
        if require_finite and check["first_non_finite"] is not None:
            raise _non_finite_export_error(checkpoint, offline, check)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, out)
    info = {
        "onnx": {
            "path": str(out),
            "sha256": sha256_file(out),
            "nodes": len(model.graph.node),
            "nodes_before_cleanup": len(exported.graph.node),
            "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        },
        "checkpoint": {"name": str(checkpoint), "path": str(checkpoint_path), "sha256": sha256_file(checkpoint_path)},
        "export": asdict(options) | {"opset": options.opset_version},
        "versions": _tool_versions(options),
        "check_vs_pytorch_stream": check,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    sidecar = out.with_suffix(".json")
    write_json(sidecar, info)
    return ExportResult(out, sidecar, info)


def cached_export(checkpoint: str | Path) -> Path:
    """The project's default export of ``checkpoint``, built once and kept in the store.

    Keyed by the checkpoint's sha256 and the torch and harness versions (a new
    exporter may give another graph). Built in a temporary folder and moved into
    place, so concurrent workers or an interrupted export never see half a file.
    """
    from gtcrn_bench.store import home

    key = f"{sha256_file(resolve(checkpoint))[:16]}-torch{torch.__version__}-gtcrn_bench{gtcrn_bench.__version__}"
    dest = home() / "models" / "exported" / f"gtcrn-{key}.onnx"
    if dest.is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".export-") as tmp:
        result = export_onnx(checkpoint, Path(tmp) / dest.name)
        result.sidecar.replace(dest.with_suffix(".json"))
        result.path.replace(dest)
    return dest
