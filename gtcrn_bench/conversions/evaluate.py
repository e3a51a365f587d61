"""One run over every conversion target: numbers, drift, quality deltas, speed, and the gate's verdict.

Order of work, so that one bad target never stops the others:

1. the float32 PyTorch streaming reference over every pair and over a long
   stream (>= 10,000 frames: the pairs one after another, repeated);
2. per target: build (a converter's failure becomes the row's error), run
   every pair and the long stream, score PESQ-WB, STOI and DNSMOS-OVRL;
3. all built targets timed interleaved in one run with the published ONNX
   and the float32 export (1 thread), ratios to the published ONNX;
4. the single-core MAC peak; the gate's checks per target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from gtcrn_bench.conversions import numbers
from gtcrn_bench.conversions.gate import (
    Check,
    QualityTolerances,
    drift_check,
    finite_check,
    float32_checks,
    quality_checks,
)
from gtcrn_bench.conversions.peak import Peak, measure_peak
from gtcrn_bench.convert.build import ConversionError
from gtcrn_bench.convert.targets import TARGETS, get_target
from gtcrn_bench.datasets.paired import PairedDirDataset
from gtcrn_bench.errors import ConfigError, GtcrnBenchError, InputError
from gtcrn_bench.latency.compare import compare_runners
from gtcrn_bench.metrics.compute import compute
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.onnx.tolerances import Tolerances
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.converted import GTCRNConverted

QUALITY_METRICS = ("pesq_wb", "stoi", "dnsmos_ovrl")
REFERENCE_RUNNER = "published-onnx"
FLOAT_EXPORT = "export-fp32"  # the project's float32 ONNX export, timed beside the targets for comparison


@dataclass(frozen=True)
class PairAudio:
    name: str
    clean: np.ndarray
    noisy: np.ndarray


@dataclass(frozen=True)
class Settings:
    """What one ``conversions`` run does."""

    checkpoint: str = "dns3-stream"
    reference_checkpoint: str | None = None  # None: the same checkpoint
    targets: tuple[str, ...] = tuple(TARGETS)
    data: Path | None = None
    limit: int | None = None
    calibration: str | None = None  # None: the data folder; "silence": digital silence
    latency_frames: int = 2000
    warmup: int = 50
    drift_frames: int = 10_000
    quality: bool = True
    tolerances: Tolerances = field(default_factory=Tolerances)
    quality_tolerances: QualityTolerances = field(default_factory=QualityTolerances)


@dataclass(frozen=True)
class MeanCI:
    """Mean of paired deltas and its 95 % bootstrap (BCa) interval; None bounds with fewer than 3 pairs."""

    mean: float
    low: float | None
    high: float | None
    n: int


@dataclass
class TargetRow:
    """One target's row of the table (``error`` set when it could not be built or run)."""

    target: str
    precision: str
    runtime: str = ""
    size_kb: float | None = None
    op_count: int | None = None
    spectrum_max_abs: float | None = None
    spectrum_snr_db: float | None = None
    waveform_max_abs: float | None = None
    waveform_snr_db: float | None = None
    frames: int = 0
    drift: numbers.Drift | None = None
    deltas: dict[str, MeanCI] = field(default_factory=dict)
    latency: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return self.skipped is not None or (self.error is None and all(c.passed for c in self.checks))

    @property
    def verdict(self) -> str:
        if self.skipped is not None:
            return "SKIP"
        return "PASS" if self.passed else "FAIL"

    def failures(self) -> list[str]:
        if self.error is not None:
            return [f"build/run: {self.error}"]
        return [f"{c.name}: {c.message}" for c in self.checks if not c.passed]


@dataclass
class ConversionsResult:
    settings: Settings
    rows: list[TargetRow]
    pairs: list[str]
    skipped_pairs: dict[str, str]
    reference_quality: dict[str, float | None]
    peak: Peak | None
    latency_reference: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)


def load_pairs(data: Path, limit: int | None) -> tuple[list[PairAudio], dict[str, str]]:
    """The clean/noisy pairs of ``data`` (clean/ and noisy/); unloadable ones are listed with their reason."""
    dataset = PairedDirDataset(data, limit=limit)
    pairs, skipped = [], {}
    for utterance in dataset.utterances():
        try:
            clean, noisy = dataset.load(utterance)
        except InputError as exc:
            skipped[utterance.name] = str(exc)
            continue
        if clean is None:
            skipped[utterance.name] = "no clean reference"
            continue
        pairs.append(PairAudio(utterance.name, clean, noisy))
    if not pairs:
        raise InputError(f"{data}: no usable clean/noisy pairs ({len(skipped)} skipped)")
    return pairs, skipped


def mean_ci(deltas: list[float]) -> MeanCI:
    """Mean of paired per-pair deltas with a 95 % BCa bootstrap interval (fixed seed: reproducible)."""
    x = np.asarray(deltas, dtype=np.float64)
    if x.size < 3 or np.ptp(x) == 0:
        return MeanCI(float(x.mean()), None, None, int(x.size))
    result = stats.bootstrap((x,), np.mean, confidence_level=0.95, n_resamples=4000, method="BCa", rng=0)
    ci = result.confidence_interval
    return MeanCI(float(x.mean()), float(ci.low), float(ci.high), int(x.size))


def _score(wave: np.ndarray, clean: np.ndarray) -> dict[str, float | None]:
    return compute(list(QUALITY_METRICS), wave, clean).values


@dataclass
class Reference:
    """The float32 PyTorch streaming model's frames, waveforms and scores on the pairs and the long stream."""

    pair_frames: list[np.ndarray]
    pair_waves: list[np.ndarray]
    scores: list[dict[str, float | None]]
    long_frames: np.ndarray


def _reference(settings: Settings, pairs: list[PairAudio], long_in: numbers.LongStream) -> Reference:
    model = numbers.reference_model(load_gtcrn(settings.reference_checkpoint or settings.checkpoint))
    frames = [numbers.torch_frames(model, numbers.frames_of(p.noisy)) for p in pairs]
    waves = [numbers.to_wave(f, p.noisy.size) for f, p in zip(frames, pairs, strict=True)]
    scores = [_score(w, p.clean) if settings.quality else {} for w, p in zip(waves, pairs, strict=True)]
    return Reference(frames, waves, scores, numbers.torch_frames(model, long_in.frames))


def _deltas(scores: list[dict], reference: list[dict]) -> dict[str, MeanCI]:
    out = {}
    for metric in QUALITY_METRICS:
        pairs = [(s.get(metric), r.get(metric)) for s, r in zip(scores, reference, strict=True)]
        diffs = [a - b for a, b in pairs if a is not None and b is not None]
        if diffs:
            out[metric] = mean_ci(diffs)
    return out


def _build_runner(settings: Settings, target: str) -> GTCRNConverted:
    calibration = settings.calibration or (str(settings.data) if settings.data is not None else None)
    params = {"target": target, "checkpoint": settings.checkpoint, "calibration": calibration}
    runner = registry.build("gtcrn-converted", params, threads=1)
    assert isinstance(runner, GTCRNConverted)
    return runner


def _evaluate_target(
    row: TargetRow,
    runner: GTCRNConverted,
    settings: Settings,
    pairs: list[PairAudio],
    ref: Reference,
    long_in: numbers.LongStream,
) -> None:
    """Numbers, drift and quality of one built target into ``row``."""
    session = runner.session
    row.runtime = runner.artefact.target.runtime_version()
    row.size_kb = runner.artefact.size_kb
    row.op_count = session.op_count()
    row.notes = dict(runner.artefact.info.get("notes", {}))
    if session.inference_precision is not None:
        row.notes["inference_precision"] = session.inference_precision
    errors = numbers.PairErrors()
    scores = []
    for pair, ref_frames, ref_wave in zip(pairs, ref.pair_frames, ref.pair_waves, strict=True):
        got = numbers.session_frames(session, numbers.frames_of(pair.noisy))
        wave = numbers.to_wave(np.nan_to_num(got), pair.noisy.size)
        errors.add(got, ref_frames, wave, ref_wave)
        if settings.quality:
            scores.append(_score(wave, pair.clean) if np.all(np.isfinite(got)) else {})
    row.frames = errors.frames
    row.spectrum_max_abs, row.spectrum_snr_db = errors.spectrum.max_abs, errors.spectrum.snr_db
    row.waveform_max_abs, row.waveform_snr_db = errors.waveform.max_abs, errors.waveform.snr_db
    long_out = numbers.session_frames(session, long_in.frames)
    row.drift = numbers.drift(long_in, ref.long_frames, np.nan_to_num(long_out))
    count, first = numbers.non_finite(long_out)
    row.checks.append(
        finite_check(
            errors.non_finite_frames + count, errors.first_non_finite if errors.first_non_finite is not None else first
        )
    )
    if settings.quality:
        row.deltas = _deltas(scores, ref.scores)
    if row.precision == "float32":
        row.checks += float32_checks(row.spectrum_max_abs, row.waveform_max_abs, settings.tolerances)
    else:
        row.checks += quality_checks({k: v.mean for k, v in row.deltas.items()}, settings.quality_tolerances)
    drift = row.drift
    row.checks.append(drift_check(drift.frames, drift.early_snr_db, drift.late_snr_db, settings.drift_frames))


def _time(runners: dict[str, Any], settings: Settings, audio: np.ndarray) -> tuple[dict[str, dict], dict[str, Any]]:
    """All runners interleaved, 1 thread; per key: median/p99 ms, ratio of means (CI) and medians to the reference."""
    comparison = compare_runners(
        runners,
        reference=REFERENCE_RUNNER,
        frames=settings.latency_frames,
        warmup=settings.warmup,
        audio=audio,
        threads=1,
    )
    out = {}
    for key, result in comparison.results.items():
        s = result.stats
        entry = {
            "median_ms": s["p50_ms"],
            "p99_ms": s["p99_ms"],
            "mean_ms": s["mean_ms"],
            "rtf": s["rtf"],
            "streams_per_core": s["streams_per_core"],
        }
        if key != REFERENCE_RUNNER:
            ratio = comparison.ratios[key].model
            entry |= {
                "ratio": ratio.ratio,
                "ratio_low": ratio.low,
                "ratio_high": ratio.high,
                "median_ratio": ratio.median_ratio,
            }
        out[key] = entry
    return out, out.pop(REFERENCE_RUNNER)


def _quiet(message: str) -> None:
    """The default progress report: none."""


def run_conversions(settings: Settings, progress: Callable[[str], None] = _quiet) -> ConversionsResult:
    """Build, check and time every requested target (see the module docstring); ``progress`` is told each stage."""
    for name in settings.targets:
        get_target(name)
    if settings.data is None:
        raise ConfigError("give --data DIR: a folder with clean/ and noisy/ pairs (e.g. vctk-demand-mini)")
    pairs, skipped = load_pairs(settings.data, settings.limit)
    long_in = numbers.long_stream([p.noisy for p in pairs], settings.drift_frames)
    progress(f"float32 reference: {len(pairs)} pairs and a {long_in.frames.shape[0]:,}-frame stream")
    ref = _reference(settings, pairs, long_in)
    reference_quality = {
        m: (float(np.mean(v)) if (v := [s[m] for s in ref.scores if s.get(m) is not None]) else None)
        for m in (QUALITY_METRICS if settings.quality else ())
    }
    rows, runners = [], {}
    for i, name in enumerate(settings.targets, 1):
        progress(f"target {i}/{len(settings.targets)} {name}: build (cached after the first run), run, score")
        target = TARGETS[name]
        row = TargetRow(name, target.precision)
        rows.append(row)
        missing = target.missing()
        if missing:
            row.skipped = f"needs {', '.join(missing)} (pip install 'gtcrn-bench[{target.extra}]')"
            continue
        try:
            runner = _build_runner(settings, name)
            _evaluate_target(row, runner, settings, pairs, ref, long_in)
        except (ConversionError, GtcrnBenchError) as exc:
            row.error = str(exc)
            continue
        runners[name] = runner
    timed = {
        REFERENCE_RUNNER: registry.build(REFERENCE_RUNNER, threads=1),
        FLOAT_EXPORT: registry.build("gtcrn-onnx", {"checkpoint": settings.checkpoint}, threads=1),
        **runners,
    }
    audio = np.concatenate([p.noisy for p in pairs])
    progress(f"timing {len(timed)} runners interleaved, {settings.latency_frames:,} frames each, 1 thread")
    latency, reference_latency = _time(timed, settings, audio)
    peak = measure_peak()
    for row in rows:
        if row.target in latency:
            row.latency = latency[row.target] | {"at_peak_ms": peak.frame_ms}
    export_row = TargetRow(
        FLOAT_EXPORT, "float32", runtime="onnxruntime (reference export)", latency=latency[FLOAT_EXPORT]
    )
    return ConversionsResult(
        settings, [export_row, *rows], [p.name for p in pairs], skipped, reference_quality, peak, reference_latency
    )
