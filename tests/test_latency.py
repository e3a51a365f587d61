"""Latency measurement: statistics against numpy, the ratio's CI, thread settings, a runner of known speed, CLI.

No wall-clock limits are asserted on real models; the only timing assertions
are on runners that busy-wait a known time per call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gtcrn_bench.cli import app
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency import measure_runner, ratio_of_means, suite_latency
from gtcrn_bench.latency.build import build_runner
from gtcrn_bench.latency.measure import streams_per_core, summary
from gtcrn_bench.latency.threads import check_threads, thread_report, with_threads
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.timing import time_interleaved

JSON_KEYS = {"runner", "frames", "threads", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "rtf"}


def busy_wait(ms: float) -> None:
    """Spin until ``ms`` have passed on the clock the measurement reads: it cannot return early."""
    end = time.perf_counter_ns() + int(ms * 1e6)
    while time.perf_counter_ns() < end:
        pass


class BusySpectral(SpectralFrameRunner):
    """A spectral frame runner whose model call takes exactly ``ms`` (busy wait) and returns its input."""

    name = "busy-spectral"

    def __init__(self, ms: float = 2.0) -> None:
        super().__init__()
        self.ms = ms

    def reset_state(self) -> None:
        pass

    def step(self, spec: np.ndarray) -> np.ndarray:
        busy_wait(self.ms)
        return spec


class BusyNative(NativeFrameRunner):
    """A 48 kHz, 10 ms-frame library stand-in that takes ``ms`` per frame."""

    name = "busy-native"
    native_sample_rate: ClassVar[int] = 48000
    native_frame: ClassVar[int] = 480

    def __init__(self, ms: float = 1.0) -> None:
        super().__init__()
        self.ms = ms
        self.reset()

    def reset_library(self) -> None:
        pass

    def process_frame(self, frame: np.ndarray) -> np.ndarray:
        busy_wait(self.ms)
        return frame


class BusyOffline(Runner):
    """An offline runner taking ``ms`` per whole file."""

    name = "busy-offline"

    def __init__(self, ms: float = 20.0) -> None:
        self.ms = ms

    def process(self, wave: np.ndarray) -> np.ndarray:
        busy_wait(self.ms)
        return wave


@pytest.fixture
def restore_torch_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def speech(mix_wav: np.ndarray) -> np.ndarray:
    """Two seconds of the published noisy test file: enough distinct frames, quick to prepare."""
    return mix_wav[: 2 * 16000]


# --- statistics -----------------------------------------------------------------------------------------------


def test_summary_matches_numpy() -> None:
    ms = np.random.default_rng(0).gamma(4.0, 0.1, 1001)
    s = summary(ms, hop_ms=16.0, prefix="step_")
    expected = dict(zip(("p50", "p90", "p95", "p99"), np.percentile(ms, [50, 90, 95, 99]), strict=True))
    for name, value in expected.items():
        assert s[f"step_{name}_ms"] == pytest.approx(value, rel=1e-12)
    assert s["step_mean_ms"] == pytest.approx(ms.mean(), rel=1e-12)
    assert s["step_max_ms"] == ms.max()
    assert s["step_std_ms"] == pytest.approx(np.std(ms, ddof=1), rel=1e-12)
    assert s["step_rtf"] == pytest.approx(ms.mean() / 16.0, rel=1e-12)


def test_streams_per_core() -> None:
    assert streams_per_core(1.0, 16.0, threads=1) == 16
    assert streams_per_core(1.0, 16.0, threads=2) == 8  # a frame holding two cores counts against both
    assert streams_per_core(3.0, 16.0, threads=1) == 5  # 5.33 rounded down: a sixth stream would fall behind


def test_time_interleaved_turns_and_rewarm() -> None:
    log: list[tuple[str, int]] = []
    calls = [lambda i: log.append(("a", i)), lambda i: log.append(("b", i))]
    time_interleaved(calls, 4, warmup=0, block=2, rewarm=1)
    # turns of 2 frames, each opened by one untimed call with the turn's first index; who goes first alternates
    assert log == [
        ("a", 0), ("a", 0), ("a", 1), ("b", 0), ("b", 0), ("b", 1),
        ("b", 2), ("b", 2), ("b", 3), ("a", 2), ("a", 2), ("a", 3),
    ]  # fmt: skip


def _loaded_pair(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired frame times, true ratio of means 2: a shared slowly varying load (AR(1), memory ~50 frames)
    times independent per-frame jitter (gamma, 22 % spread)."""
    log_load = np.zeros(n)
    shocks = rng.normal(0.0, 0.05, n)
    for i in range(1, n):
        log_load[i] = 0.98 * log_load[i - 1] + shocks[i]
    load = np.exp(log_load)
    return 2.0 * load * rng.gamma(20, 1 / 20, n), load * rng.gamma(20, 1 / 20, n)


def test_ratio_ci_covers_the_true_ratio() -> None:
    """Coverage of the 95 % interval over 300 simulated runs of 2000 paired frames.

    Binomial standard error at 0.95 over 300 runs is 0.0126; [0.90, 0.99] is
    about 4 standard errors either side. A bootstrap over single frames
    (ignoring the load's correlation) fails this: intervals too narrow.
    """
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(300):
        x, y = _loaded_pair(rng, 2000)
        ci = ratio_of_means(x, y, resamples=1000)
        assert ci.low <= ci.ratio <= ci.high
        assert ci.ratio == pytest.approx(x.mean() / y.mean())
        hits += ci.low <= 2.0 <= ci.high
    assert 0.90 <= hits / 300 <= 0.99


def test_ratio_ci_edge_cases() -> None:
    y = np.random.default_rng(1).gamma(4.0, 0.1, 400)
    exact = ratio_of_means(2 * y, y)  # every block has ratio 2: a zero-width interval, not NaN
    assert (exact.ratio, exact.low, exact.high) == pytest.approx((2.0, 2.0, 2.0))
    assert exact.median_ratio == pytest.approx(2.0)
    assert (exact.blocks, exact.block_frames) == (40, 10)  # 400 frames: blocks shortened to keep 40 of them
    with pytest.raises(ValueError, match="paired"):
        ratio_of_means(y, y[:-1])


# --- a runner of known speed -----------------------------------------------------------------------------------


def test_busy_spectral_runner_is_measured_within_tolerance(speech: np.ndarray) -> None:
    """A 2 ms model call measures 2 ms: the busy wait reads the same clock, so it cannot come in under 2 ms;
    above, only call overhead (microseconds) and a preemption landing right at the deadline add time. 0.2 ms
    (10 %) on the median and 0.5 ms on the mean leave room for a busy shared 2-core machine."""
    result = measure_runner(BusySpectral(2.0), frames=200, warmup=10, threads=1, audio=speech)
    s = result.stats
    assert result.frames_ms.shape == (200,) and np.all(result.frames_ms >= 2.0)
    assert 2.0 <= s["p50_ms"] <= 2.2 and 2.0 <= s["mean_ms"] <= 2.5
    assert s["hop_ms"] == 16.0 and s["rtf"] == pytest.approx(s["mean_ms"] / 16.0)
    # the whole step adds the STFT and ISTFT around the same call
    assert np.all(result.step_frames_ms >= 2.0) and s["step_p50_ms"] >= s["p50_ms"]
    assert s["kind"] == "frame" and s["timed"].startswith("step(") and s["step_timed"].startswith("process_hop")
    assert s["streams_per_core"] == int(16.0 // s["step_mean_ms"])


def test_native_runner_rtf_uses_its_own_frame(speech: np.ndarray) -> None:
    result = measure_runner(BusyNative(1.0), frames=100, warmup=5, threads=1, audio=speech)
    s = result.stats
    assert s["hop_ms"] == 10.0 and "48000 Hz" in s["timed"]  # one 480-sample frame at 48 kHz
    assert 1.0 <= s["p50_ms"] <= 1.2
    assert s["rtf"] == pytest.approx(s["mean_ms"] / 10.0)


def test_offline_runner_gets_whole_file_rtf(speech: np.ndarray) -> None:
    result = measure_runner(BusyOffline(20.0), frames=100, warmup=1, threads=1, audio=speech, repeats=3)
    s = result.stats
    assert s["kind"] == "offline" and s["frames"] == 3 and s["hop_ms"] == pytest.approx(2000.0)
    assert 20.0 <= s["p50_ms"] <= 22.0  # same reasoning as above, 10 %
    assert s["rtf"] == pytest.approx(s["mean_ms"] / 2000.0)


def test_suite_latency_interleaves_every_runner(speech: np.ndarray) -> None:
    runners = {"fast": BusySpectral(0.5), "slow": BusySpectral(1.5), "native": BusyNative(0.3), "file": BusyOffline(5)}
    stats, per_frame = suite_latency(runners, frames=60, warmup=5, audio=speech)
    assert set(stats) == set(runners) and set(per_frame) == {"fast", "slow", "native"}  # offline: no frame times
    assert all(a.shape == (60,) for a in per_frame.values())
    json.dumps(stats)  # the report reads it back from latency.json
    assert all(set(s) >= JSON_KEYS for s in stats.values())
    assert stats["slow"]["mean_ms"] > stats["fast"]["mean_ms"] and stats["file"]["kind"] == "offline"


# --- thread settings ---------------------------------------------------------------------------------------------


def test_threads_reach_torch_and_onnxruntime(speech: np.ndarray, restore_torch_threads: None) -> None:
    onnx = build_runner("published-onnx", {}, threads=2)
    options = onnx.session.session.get_session_options()  # onnxruntime's own record of the session
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    result = measure_runner(onnx, frames=20, warmup=2, threads=2, audio=speech)
    assert torch.get_num_threads() == 2
    settings = result.stats["thread_settings"]
    assert settings["torch_intra_op"] == 2 and settings["onnxruntime"]["session.session"]["intra_op"] == 2
    stream = build_runner("gtcrn-stream", {}, threads=1)
    assert torch.get_num_threads() == 1 and thread_report(stream)["runner_param"] == {"threads": 1}


def test_thread_mismatch_is_refused(restore_torch_threads: None) -> None:
    onnx = build_runner("published-onnx", {}, threads=1)
    with pytest.raises(ConfigError, match="intra-op threads"):
        check_threads(onnx, 2)
    with pytest.raises(ConfigError, match="contradicts --threads"):
        with_threads(registry.get("gtcrn-onnx"), {"intra_threads": "3"}, 1)
    assert with_threads(registry.get("rnnoise"), {}, 4) == {}  # single-threaded C library: no parameter


# --- command line ---------------------------------------------------------------------------------------------


def test_cli_latency_json(tmp_path: Path) -> None:
    out = tmp_path / "lat.json"
    result = CliRunner().invoke(
        app, ["latency", "-r", "published-onnx", "--frames", "40", "--warmup", "4", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data) >= JSON_KEYS and data["runner"] == "published-onnx" and data["frames"] == 40
    assert data["threads"] == 1 and data["p50_ms"] <= data["p95_ms"] <= data["p99_ms"] <= data["max_ms"]
    assert data["conditions"]["cpu"]["model"] and "governor" in data["conditions"]["cpu"]["frequency_policy"]
    assert "RTF" in result.output


def test_cli_compare_reports_ratio_and_ci(tmp_path: Path) -> None:
    out = tmp_path / "cmp.json"
    args = ["latency", "-r", "gtcrn-stream", "--compare", "published-onnx", "--frames", "80", "--warmup", "4"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    cmp = json.loads(out.read_text())["compare"]
    assert cmp["reference"] == "published-onnx" and cmp["confidence"] == 0.95
    assert cmp["ci_low"] <= cmp["ratio"] <= cmp["ci_high"] and cmp["ratio"] > 0
    assert set(cmp["reference_stats"]) >= JSON_KEYS
    assert "gtcrn-stream / published-onnx" in result.output and "CI" in result.output


def test_cli_refuses_comparing_a_runner_with_itself() -> None:
    result = CliRunner().invoke(app, ["latency", "-r", "speex", "--compare", "speex", "--frames", "10"])
    assert result.exit_code == 2 and "different runner" in result.output
