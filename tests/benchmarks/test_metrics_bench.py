"""Cost of each metric per second of audio, measured interleaved in one process on real speech.

Run with ``pytest tests/benchmarks/test_metrics_bench.py --benchmark-only -s``. Each metric group is
timed through :func:`gtcrn_bench.metrics.compute` (input checks included) on the three longest
VoiceBank+DEMAND mini pairs joined into one 12.7 s utterance, in round-robin so machine load affects all
groups alike. Figures (median ms per second of audio, and the ratio to PESQ-WB) are printed and stored in
``extra_info``; nothing is asserted about speed. The per-second figures are what each metric declares as
``Metric.cost_ms_per_s`` (copied by hand with the machine and commit into ``docs/metrics-extra.md``, so that
``gtcrn-bench list --metrics`` shows them without computing anything). The word error group includes
PocketSphinx on the clean reference (no transcript is given, and the worker's cache of reference
transcriptions is emptied before each call), as for the first runner of an utterance on a set without
transcripts; later runners of that utterance in the same worker pay only for the estimate.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from pytest_benchmark.fixture import BenchmarkFixture

from conftest import MINI, read
from gtcrn_bench import metrics
from gtcrn_bench.metrics import asr

ROUNDS = 5
GROUPS = {  # one call per group: metrics of a group are computed together
    "pesq_wb": ["pesq_wb"],
    "pesq_nb": ["pesq_nb"],
    "stoi": ["stoi"],
    "estoi": ["estoi"],
    "si_sdr": ["si_sdr"],
    "dnsmos (sig, bak, ovrl, p808)": ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"],
    "composite (csig, cbak, covl, ssnr; incl. its PESQ-WB)": ["csig", "cbak", "covl", "ssnr"],
    "distill_mos": ["distill_mos"],
    "pdnsmos (p_sig, p_bak, p_ovrl)": ["dnsmos_p_sig", "dnsmos_p_bak", "dnsmos_p_ovrl"],
    "spk_sim": ["spk_sim"],
    "asr (wer, cer; incl. PocketSphinx on the clean reference)": ["wer", "cer"],
    "lsd": ["lsd"],
    "standard set (13 metrics) in one call": metrics.resolve_set("standard"),
    "full set in one call": metrics.resolve_set("full"),
}
LONGEST = ("p232_012.wav", "p257_199.wav", "p232_009.wav")


def _utterance() -> tuple[np.ndarray, np.ndarray]:
    clean = np.concatenate([read(MINI / "clean" / n) for n in LONGEST])
    noisy = np.concatenate([read(MINI / "noisy" / n) for n in LONGEST])
    return clean, noisy


def _measure(clean: np.ndarray, noisy: np.ndarray) -> dict[str, float]:
    """Median seconds per call of each group."""
    for names in GROUPS.values():  # warm-up: imports, ONNX sessions, numba/FFT plans
        assert metrics.compute(names, noisy, clean).errors == {}
    times: dict[str, list[float]] = {g: [] for g in GROUPS}
    for _ in range(ROUNDS):
        for group, names in GROUPS.items():
            asr.decode_reference.cache_clear()  # the first runner of an utterance: the reference decoded too
            start = time.perf_counter()
            metrics.compute(names, noisy, clean)
            times[group].append(time.perf_counter() - start)
    return {g: statistics.median(t) for g, t in times.items()}


def test_metric_cost_per_second_of_audio(benchmark: BenchmarkFixture) -> None:
    clean, noisy = _utterance()
    seconds = noisy.size / 16000
    medians = benchmark.pedantic(_measure, args=(clean, noisy), rounds=1, iterations=1)
    lines = [f"{'metric group':60} {'ms/call':>8} {'ms per audio s':>14} {'x PESQ-WB':>9}"]
    for group, median in medians.items():
        per_second = 1000 * median / seconds
        ratio = median / medians["pesq_wb"]
        benchmark.extra_info[group] = {"ms_per_call": 1000 * median, "ms_per_audio_second": per_second, "ratio": ratio}
        lines.append(f"{group:60} {1000 * median:8.1f} {per_second:14.2f} {ratio:9.2f}")
    benchmark.extra_info["audio_seconds"] = seconds
    print(f"\n{seconds:.2f} s of audio, median of {ROUNDS} interleaved rounds\n" + "\n".join(lines))
