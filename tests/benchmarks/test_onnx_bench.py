"""Per-frame latency of streaming ONNX graphs, interleaved in one process, as ratios to the published graph.

Run with ``pytest tests/benchmarks/test_onnx_bench.py --benchmark-only -s``: the project's default options
skip benchmarks, and ``--benchmark-enable`` does not undo ``--benchmark-skip`` (``--benchmark-only`` does).
Figures are printed and stored in the benchmark's ``extra_info`` (``--benchmark-json``); nothing here is
asserted about speed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from gtcrn_bench.onnx.compare import Probe
from gtcrn_bench.onnx.export import ExportOptions, export_onnx
from gtcrn_bench.onnx.verify import REFERENCE, GraphLatency, measure_latency
from gtcrn_bench.store import resolve

FRAMES = 5000  # 80 s of audio per graph; medians over this many frames move by ~1 % between runs here
DEFAULT = "legacy / export module / onnxslim (default)"
CANDIDATES = {
    DEFAULT: ExportOptions(),
    "legacy / export module / onnxsim": ExportOptions(simplifier="onnxsim"),
    "legacy / export module / no clean-up": ExportOptions(simplifier="none"),
    "legacy / stream module / onnxslim": ExportOptions(variant="stream"),
    "dynamo / stream module / no clean-up": ExportOptions(exporter="dynamo", variant="stream", simplifier="none"),
    "dynamo / export module / onnxslim": ExportOptions(exporter="dynamo"),
}


@pytest.fixture(scope="module")
def probe(mix_wav: np.ndarray) -> Probe:
    return Probe("mix.wav", mix_wav)


def _table(rows: list[GraphLatency]) -> str:
    lines = [f"{'graph':45} {'nodes':>5} {'mean ms':>8} {'median ms':>9} {'p95 ms':>7} {'ratio':>6}"]
    for g in rows:
        s = g.stats
        lines.append(
            f"{g.stage:45} {g.nodes:5d} {s.mean_ms:8.3f} {s.median_ms:9.3f} {s.p95_ms:7.3f} {g.ratio_to_reference:6.3f}"
        )
    return "\n".join(lines)


def _record(benchmark: BenchmarkFixture, rows: list[GraphLatency]) -> None:
    for g in rows:
        benchmark.extra_info[g.stage] = {"nodes": g.nodes, **g.stats.to_dict(), "ratio": g.ratio_to_reference}
    print("\n" + _table(rows))


def _export(name: str, options: ExportOptions, directory: Path, probe: Probe) -> Path:
    short = Probe(probe.name, probe.wave[:16000])  # the export's own error check; 1 s is enough here
    return export_onnx(
        "dns3-stream", directory / f"{name.replace(' / ', '_').replace(' ', '-')}.onnx", options, short
    ).path


def test_export_vs_published_per_frame(benchmark: BenchmarkFixture, tmp_path: Path, probe: Probe) -> None:
    """The project's export against the published gtcrn_simple.onnx, one thread, same run, interleaved."""
    graphs = {REFERENCE: resolve("published-onnx"), DEFAULT: _export(DEFAULT, CANDIDATES[DEFAULT], tmp_path, probe)}
    rows = benchmark.pedantic(measure_latency, args=(graphs, [probe]), kwargs={"frames": FRAMES}, rounds=1)
    _record(benchmark, rows)


def test_exporter_paths_per_frame(benchmark: BenchmarkFixture, tmp_path: Path, probe: Probe) -> None:
    """Every exporter / module / clean-up combination against the published graph, interleaved."""
    graphs = {REFERENCE: resolve("published-onnx")}
    graphs |= {name: _export(name, options, tmp_path, probe) for name, options in CANDIDATES.items()}
    rows = benchmark.pedantic(measure_latency, args=(graphs, [probe]), kwargs={"frames": FRAMES // 2}, rounds=1)
    _record(benchmark, rows)
