"""The conversion regression check: offline PyTorch -> streaming PyTorch -> exported ONNX (-> a reference ONNX).

Every stage enhances the same audio; each is compared with the offline
PyTorch model on the spectrum and on the waveform (max abs error and SNR of
the difference). The ONNX graphs are also timed per frame in the same process,
interleaved in turns of a few frames each (:func:`measure_latency`), and the
exported graph's median time is compared with the reference graph's. A check
fails when an error exceeds its tolerance (a stage whose output holds NaN or
Inf fails with the first frame where it appeared) or the exported graph is
slower than the reference by more than the allowed factor.
Default tolerances and their reasons: :mod:`gtcrn_bench.onnx.tolerances`.
"""

from __future__ import annotations

import os
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from gtcrn_bench.download import sha256_file
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.stream import to_stream
from gtcrn_bench.onnx.compare import (
    ErrorStats,
    Probe,
    first_non_finite_frame,
    probe_inputs,
    run_frames,
    run_offline,
    run_torch_frames,
    spectrum,
    waveform,
)
from gtcrn_bench.onnx.export import ExportOptions, export_onnx
from gtcrn_bench.onnx.session import FrameSession, frame_time
from gtcrn_bench.onnx.tolerances import LATENCY_FRAMES, Tolerances
from gtcrn_bench.store import resolve
from gtcrn_bench.timing import REWARM_CALLS, TURN_FRAMES, LatencyStats, latency_ratio, time_interleaved

OFFLINE, STREAM, EXPORT, REFERENCE = "offline", "stream", "export", "reference"
LATENCY_WARMUP = 100


@dataclass(frozen=True)
class StageError:
    """One stage's output on one file compared with offline PyTorch.

    ``first_non_finite_frame``: the first frame of this stage's output
    spectrum holding NaN or Inf (None: all finite), so a failure can say where it began.
    """

    stage: str
    file: str
    spectrum: ErrorStats
    waveform: ErrorStats
    first_non_finite_frame: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "file": self.file,
            "spectrum": self.spectrum.to_dict(),
            "waveform": self.waveform.to_dict(),
            "first_non_finite_frame": self.first_non_finite_frame,
        }


@dataclass(frozen=True)
class GraphLatency:
    """Per-frame time of one ONNX graph, and its ratio (median) to the reference graph timed alongside."""

    stage: str
    path: str
    nodes: int
    stats: LatencyStats
    ratio_to_reference: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "path": self.path,
            "nodes": self.nodes,
            **self.stats.to_dict(),
            "ratio_to_reference": self.ratio_to_reference,
        }


@dataclass(frozen=True)
class Check:
    """One pass/fail criterion with its measured value and limit."""

    name: str
    passed: bool
    value: float
    limit: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        value = self.value if np.isfinite(self.value) else None
        return {"name": self.name, "passed": self.passed, "value": value, "limit": self.limit, "message": self.message}


@dataclass
class VerifyResult:
    """Everything :func:`verify` measured, and the verdict."""

    errors: list[StageError] = field(default_factory=list)
    latency: list[GraphLatency] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "info": self.info,
            "errors": [e.to_dict() for e in self.errors],
            "latency": [g.to_dict() for g in self.latency],
            "checks": [c.to_dict() for c in self.checks],
        }


def _non_finite_reason(row: StageError, offline: StageError) -> str:
    """Why an error is not finite: this stage's output, or the offline reference it is compared with."""
    if row.first_non_finite_frame is not None:
        return f"its output is NaN or Inf from {frame_time(row.first_non_finite_frame)} of {row.file}"
    if offline.first_non_finite_frame is not None:
        where = frame_time(offline.first_non_finite_frame)
        return f"the offline PyTorch reference is NaN or Inf from {where} of {row.file}: nothing to compare with"
    return f"the difference from offline PyTorch overflows (Inf) on {row.file}"


def _error_checks(errors: list[StageError], tolerances: Tolerances) -> list[Check]:
    """Per stage, the worst file's spectrum and waveform errors against their tolerances."""
    offline = {e.file: e for e in errors if e.stage == OFFLINE}
    checks = []
    for stage in dict.fromkeys(e.stage for e in errors if e.stage != OFFLINE):
        rows = [e for e in errors if e.stage == stage]
        for domain, limit in (("spectrum", tolerances.spectrum), ("waveform", tolerances.waveform)):
            worst = max(rows, key=lambda e: getattr(e, domain).max_abs)
            value = getattr(worst, domain).max_abs
            passed = bool(value <= limit)
            if np.isfinite(value):
                verdict = "within" if passed else "exceeds"
                message = (
                    f"{stage}: {domain} max abs error {value:.3g} vs offline PyTorch {verdict} tolerance {limit:g}"
                    f" (worst file: {worst.file})"
                )
            else:
                reason = _non_finite_reason(worst, offline[worst.file])
                message = f"{stage}: {domain} error vs offline PyTorch is not finite: {reason}"
            checks.append(Check(f"{stage} {domain}", passed, value, limit, message))
    return checks


def _speed_check(latency: list[GraphLatency], tolerances: Tolerances) -> Check:
    exported = next(g for g in latency if g.stage == EXPORT)
    reference = next(g for g in latency if g.stage == REFERENCE)
    ratio = exported.ratio_to_reference or float("nan")
    passed = bool(ratio <= tolerances.slowdown)
    verdict = "within" if passed else "exceeds"
    return Check(
        "export speed",
        passed,
        ratio,
        tolerances.slowdown,
        f"export: {ratio:.2f}x the reference graph's per-frame time (median {exported.stats.median_ms:.3f} ms vs "
        f"{reference.stats.median_ms:.3f} ms), {verdict} the allowed {tolerances.slowdown:g}x",
    )


def _stage_outputs(
    checkpoint: str | Path, probes: list[Probe], graphs: dict[str, Path], threads: int
) -> dict[str, list[torch.Tensor]]:
    """Enhanced spectra of every stage for every probe (ONNX stages from zero caches for each file)."""
    offline = load_gtcrn(checkpoint)
    stream = to_stream(offline)
    specs = [spectrum(p.wave) for p in probes]
    outputs = {
        OFFLINE: [run_offline(offline, s) for s in specs],
        STREAM: [run_torch_frames(stream, s) for s in specs],
    }
    for stage, path in graphs.items():
        session = FrameSession(path, intra_threads=threads)
        outputs[stage] = []
        for s in specs:
            session.reset()
            outputs[stage].append(run_frames(session.step, s))
    return outputs


def _compare(probes: list[Probe], outputs: dict[str, list[torch.Tensor]]) -> list[StageError]:
    rows = []
    reference_waves = [waveform(s) for s in outputs[OFFLINE]]
    for stage, specs in outputs.items():
        for probe, spec, ref_spec, ref_wave in zip(probes, specs, outputs[OFFLINE], reference_waves, strict=True):
            wave = waveform(spec)
            rows.append(
                StageError(
                    stage,
                    probe.name,
                    ErrorStats.between(spec, ref_spec),
                    ErrorStats.between(wave, ref_wave),
                    first_non_finite_frame(spec),
                )
            )
    return rows


def measure_latency(
    graphs: dict[str, Path], probes: list[Probe], *, frames: int = LATENCY_FRAMES, threads: int = 1
) -> list[GraphLatency]:
    """Time every graph per frame on the probes' real frames, interleaved; ratios to the ``reference`` graph.

    The graphs take turns of :data:`~gtcrn_bench.timing.TURN_FRAMES` frames
    each, every turn opened by one untimed call, so each timed frame runs with
    its graph's code and weights in cache while all graphs share the machine's
    load within milliseconds. Caches keep running across repeats of the probe
    frames (their values do not change the graphs' work).
    """
    sessions = {stage: FrameSession(path, intra_threads=threads) for stage, path in graphs.items()}
    spec_frames = np.concatenate([spectrum(p.wave).numpy() for p in probes], axis=2)
    frame_list = [np.ascontiguousarray(spec_frames[:, :, t : t + 1]) for t in range(spec_frames.shape[2])]

    def caller(session: FrameSession) -> Any:
        return lambda i: session.step(frame_list[i % len(frame_list)])

    durations = dict(
        zip(
            sessions,
            time_interleaved(
                [caller(s) for s in sessions.values()],
                frames,
                warmup=LATENCY_WARMUP,
                block=TURN_FRAMES,
                rewarm=REWARM_CALLS,
            ),
            strict=True,
        )
    )
    reference = durations.get(REFERENCE)
    return [
        GraphLatency(
            stage,
            str(graphs[stage]),
            len(onnx.load(str(graphs[stage])).graph.node),
            LatencyStats.from_ns(ns),
            latency_ratio(ns, reference) if reference is not None else None,
        )
        for stage, ns in durations.items()
    ]


def _conditions(threads: int, frames: int) -> dict[str, Any]:
    """What the latency figures depend on."""
    return {
        "intra_op_threads": threads,
        "inter_op_threads": 1,
        "graph_optimization": "all",
        "frames_timed": frames,
        "warmup_frames": LATENCY_WARMUP,
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "machine": platform.machine(),
        "onnxruntime": version("onnxruntime"),
        "torch": torch.__version__,
    }


def verify(
    checkpoint: str | Path,
    files: list[Path] | None = None,
    *,
    reference_onnx: str | Path | None = None,
    onnx_path: str | Path | None = None,
    tolerances: Tolerances | None = None,
    export_options: ExportOptions | None = None,
    latency_frames: int = LATENCY_FRAMES,
    threads: int = 1,
) -> VerifyResult:
    """Run every stage on ``files`` (default: mix.wav or generated noise) and check errors and speed.

    ``onnx_path`` verifies an already exported graph instead of exporting
    ``checkpoint`` now (with ``export_options``); ``reference_onnx`` (alias or
    path) adds the reference graph as a stage and enables the speed check.
    """
    tolerances = tolerances or Tolerances()
    probes = probe_inputs(files)
    result = VerifyResult()
    checkpoint_path = resolve(checkpoint)
    result.info["checkpoint"] = {"name": str(checkpoint), "sha256": sha256_file(checkpoint_path)}
    result.info["tolerances"] = asdict(tolerances)
    result.info["files"] = [p.name for p in probes]
    with tempfile.TemporaryDirectory(prefix="gtcrn-verify-") as tmp:
        if onnx_path is None:
            exported = export_onnx(
                checkpoint, Path(tmp) / "gtcrn-export.onnx", export_options, probe=probes[0], require_finite=False
            )  # a non-finite export is reported below as failed checks, with the others
            result.info["export"] = exported.info
            graphs = {EXPORT: exported.path}
        else:
            graphs = {EXPORT: resolve(onnx_path)}
            result.info["export"] = {"onnx": {"path": str(graphs[EXPORT]), "sha256": sha256_file(graphs[EXPORT])}}
        if reference_onnx is not None:
            graphs[REFERENCE] = resolve(reference_onnx)
            result.info["reference"] = {"path": str(graphs[REFERENCE]), "sha256": sha256_file(graphs[REFERENCE])}
        result.errors = _compare(probes, _stage_outputs(checkpoint, probes, graphs, threads))
        result.latency = measure_latency(graphs, probes, frames=latency_frames, threads=threads)
    result.info["conditions"] = _conditions(threads, latency_frames)
    result.checks = _error_checks(result.errors, tolerances)
    if reference_onnx is not None:
        result.checks.append(_speed_check(result.latency, tolerances))
    return result
