"""Scoring a pair of audio files: reading problems and sample-rate mismatches become reasons, not exceptions."""

from __future__ import annotations

from pathlib import Path

from gtcrn_bench.audio import SAMPLE_RATE, AudioInfo, read_audio
from gtcrn_bench.errors import InputError
from gtcrn_bench.metrics.compute import MetricResults, compute
from gtcrn_bench.metrics.registry import get


def score_files(names: list[str], estimate_path: str | Path, reference_path: str | Path | None = None) -> MetricResults:
    """Score an estimate file (against a reference file) at 16 kHz.

    Files are read as 16 kHz mono float32 (other rates resampled). An unreadable
    estimate leaves every metric empty; an unreadable reference, or one whose
    native sample rate differs from the estimate's (the pair does not belong
    together), leaves the reference metrics empty and still computes the others.
    """
    try:
        estimate, est_info = read_audio(estimate_path, sample_rate=SAMPLE_RATE, quiet=True)
    except InputError as exc:
        results = MetricResults(values=dict.fromkeys(names))
        results.fail(names, str(exc))
        return results
    reference, ref_reason = None, None
    if reference_path is not None:
        try:
            reference, ref_info = read_audio(reference_path, sample_rate=SAMPLE_RATE, quiet=True)
            ref_reason = _rate_mismatch(est_info, ref_info)
        except InputError as exc:
            ref_reason = str(exc)
    results = compute(names, estimate, None if ref_reason else reference, SAMPLE_RATE)
    if ref_reason is not None:
        results.fail([n for n in names if get(n).needs_reference], ref_reason)
    return results


def _rate_mismatch(estimate: AudioInfo, reference: AudioInfo) -> str | None:
    if estimate.sample_rate == reference.sample_rate:
        return None
    return (
        f"sample rates differ: {estimate.path} is {estimate.sample_rate} Hz,"
        f" {reference.path} is {reference.sample_rate} Hz"
    )
