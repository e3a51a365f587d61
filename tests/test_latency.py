"""Latency measurement: statistics against numpy, the ratio's CI, thread settings, runners of known speed, CLI.

No wall-clock limits are asserted on real models; the only timing assertions
are on runners that busy-wait or sleep a known time per call.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from gtcrn_bench.cli import app
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency import compare_runners, measure_runner, ratio_of_means, suite_latency
from gtcrn_bench.latency.measure import streams_per_core, summary
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import FrameRunner, Runner
from gtcrn_bench.runners.baselines.native import NativeFrameRunner
from gtcrn_bench.runners.registry import RunnerSpec, build, with_threads
from gtcrn_bench.runners.spectral import SpectralFrameRunner
from gtcrn_bench.runners.threads import check_threads, set_torch_threads, thread_report
from gtcrn_bench.timing import time_interleaved

JSON_KEYS = {"runner", "frames", "threads", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms", "rtf"}
FRAME_STEP_BENCH = Path(__file__).parent / "benchmarks" / "test_frame_step_bench.py"

SLEEP_MS = 2.0  # the sleeping runner's model call
# time.sleep never returns early (CPython sleeps on the same monotonic clock perf_counter reads): a hard floor


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


class LoggedBusy(BusySpectral):
    """A busy spectral runner that also records when each model call started (perf_counter_ns)."""

    name = "logged-busy"

    def __init__(self, ms: float = 1.0) -> None:
        super().__init__(ms)
        self.starts: list[int] = []

    def step(self, spec: np.ndarray) -> np.ndarray:
        self.starts.append(time.perf_counter_ns())
        return super().step(spec)


class SleepSpectral(SpectralFrameRunner):
    """A spectral frame runner whose model call sleeps 2 ms: the OS scheduler, not a spin, decides when it returns."""

    name = "sleep-spectral"

    def reset_state(self) -> None:
        pass

    def step(self, spec: np.ndarray) -> np.ndarray:
        time.sleep(SLEEP_MS / 1000)
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


class FakeClock:
    """A nanosecond clock that moves only when a model call says it worked: timings are exact, whatever the load."""

    def __init__(self) -> None:
        self.now = 0

    def perf_counter_ns(self) -> int:
        return self.now

    def work(self, ms: float) -> None:
        self.now += int(ms * 1e6)


class ClockedSpectral(SpectralFrameRunner):
    """A spectral frame runner whose model call advances ``clock`` by ``ms`` and returns its input."""

    name = "clocked-spectral"

    def __init__(self, clock: FakeClock, ms: float) -> None:
        super().__init__()
        self.clock, self.ms = clock, ms

    def reset_state(self) -> None:
        pass

    def step(self, spec: np.ndarray) -> np.ndarray:
        self.clock.work(self.ms)
        return spec


def test_a_model_call_of_known_duration_is_measured_exactly(
    speech: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the timing clock replaced by one that only the model call advances (2 ms a call), every statistic is
    exact: this checks what is timed and how it is summarised, and no load on the machine can change it."""
    import gtcrn_bench.timing as timing

    clock = FakeClock()
    monkeypatch.setattr(timing, "time", clock)
    result = measure_runner(ClockedSpectral(clock, 2.0), frames=200, warmup=10, threads=1, audio=speech)
    s = result.stats
    np.testing.assert_array_equal(result.frames_ms, np.full(200, 2.0))
    assert s["p50_ms"] == s["mean_ms"] == s["p99_ms"] == s["max_ms"] == 2.0 and s["std_ms"] == 0.0
    assert s["hop_ms"] == 16.0 and s["rtf"] == 2.0 / 16.0
    # the whole step runs the STFT and ISTFT around the same call; only the call moves this clock
    np.testing.assert_array_equal(result.step_frames_ms, np.full(200, 2.0))
    assert s["kind"] == "frame" and s["timed"].startswith("step(") and s["step_timed"].startswith("process_hop")
    assert s["streams_per_core"] == 8  # floor(16 ms / 2 ms)


def test_busy_and_sleeping_runners_never_measure_under_their_duration(speech: np.ndarray) -> None:
    """On the real clock: a 2 ms spin reads the clock the measurement reads, and a sleep cannot return early, so
    neither can measure under 2 ms. No upper bound is asserted: a busy machine may add any delay (benchmarks
    compare speed, tests do not)."""
    busy = measure_runner(BusySpectral(2.0), frames=100, warmup=5, threads=1, audio=speech)
    asleep = measure_runner(SleepSpectral(), frames=100, warmup=5, threads=1, audio=speech)
    assert np.all(busy.frames_ms >= 2.0) and np.all(busy.step_frames_ms >= 2.0)
    assert np.all(asleep.frames_ms >= SLEEP_MS)
    assert busy.stats["rtf"] == pytest.approx(busy.stats["mean_ms"] / 16.0)


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
    assert s["streams_per_core"] is None  # a whole file is not a stream


def test_suite_latency_interleaves_every_runner(speech: np.ndarray) -> None:
    runners = {"fast": BusySpectral(0.5), "slow": BusySpectral(1.5), "native": BusyNative(0.3), "file": BusyOffline(5)}
    stats, per_frame = suite_latency(runners, frames=60, warmup=5, audio=speech)
    assert set(stats) == set(runners) and set(per_frame) == {"fast", "slow", "native"}  # offline: no frame times
    assert all(a.shape == (60,) for a in per_frame.values())
    json.dumps(stats)  # the report reads it back from latency.json
    assert all(set(s) >= JSON_KEYS for s in stats.values())
    assert stats["slow"]["mean_ms"] > stats["fast"]["mean_ms"] and stats["file"]["kind"] == "offline"


def test_compare_runners_times_several_in_one_run_against_a_reference(speech: np.ndarray) -> None:
    runners = {"double": LoggedBusy(1.0), "ref": LoggedBusy(0.5), "triple": LoggedBusy(1.5)}
    comparison = compare_runners(runners, reference="ref", frames=200, warmup=5, audio=speech)
    assert list(comparison.results) == ["double", "ref", "triple"] and set(comparison.ratios) == {"double", "triple"}
    assert all(r.frames_ms.shape == (200,) for r in comparison.results.values())
    # one interleaved run: every runner was called before any other had finished (not one after another)
    assert max(r.starts[0] for r in runners.values()) < min(r.starts[-1] for r in runners.values())
    for key, expected in (("double", 2.0), ("triple", 3.0)):
        ratios = comparison.ratios[key]
        assert ratios.model.low <= ratios.model.ratio <= ratios.model.high
        # busy waits: the medians are the nominal times plus microseconds of call overhead (10 % allowed); the
        # means can also carry a few preempted frames (25 %)
        assert ratios.model.median_ratio == pytest.approx(expected, rel=0.1)
        assert ratios.model.ratio == pytest.approx(expected, rel=0.25)
        entry = comparison.to_dict(key)
        assert (entry["runner"], entry["reference"], entry["ratio"]) == (key, "ref", ratios.model.ratio)
    with pytest.raises(ConfigError, match="not comparable"):
        compare_runners(
            {"a": BusySpectral(0.1), "file": BusyOffline(1.0)}, reference="a", frames=4, warmup=0, audio=speech
        )


def test_runner_spec_parsing() -> None:
    spec = RunnerSpec.parse("gtcrn-onnx:model=/models/a:b.onnx,intra_threads=1")
    assert (spec.label, spec.name) == ("gtcrn-onnx:model=/models/a:b.onnx,intra_threads=1", "gtcrn-onnx")
    assert spec.params == {"model": "/models/a:b.onnx", "intra_threads": "1"}  # split at the first colon only
    assert RunnerSpec.parse("published-onnx") == RunnerSpec("published-onnx", "published-onnx", {})
    with pytest.raises(ConfigError, match="NAME or NAME:key=value"):
        RunnerSpec.parse(":engine=eager")
    with pytest.raises(ConfigError, match="not of the form key=value"):
        RunnerSpec.parse("gtcrn-stream:eager")


def _frame_step_bench() -> ModuleType:
    """tests/benchmarks/test_frame_step_bench.py as a module (its runner lists; nothing is run)."""
    spec = importlib.util.spec_from_file_location("frame_step_bench", FRAME_STEP_BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frame_step_benchmarks_cover_every_registered_runner() -> None:
    """The benchmark lists its runners by hand; a newly registered runner must be added there, not forgotten."""
    bench = _frame_step_bench()

    def runner_names(entries: dict[str, tuple[str, dict]]) -> set[str]:
        return {registry.get(name).name for name, _ in entries.values()}

    # the package's own runners: other tests register throwaway runners of their own
    runners = {name: cls for name, cls in registry.available().items() if cls.__module__.startswith("gtcrn_bench.")}
    framewise = {name for name, cls in runners.items() if issubclass(cls, FrameRunner)}
    offline = set(runners) - framewise - {"noisy"}  # noisy returns its input: nothing to time
    missing = (framewise - runner_names(bench.FRAME_RUNNERS)) | (offline - runner_names(bench.OFFLINE_RUNNERS))
    assert not missing, f"add {sorted(missing)} to FRAME_RUNNERS or OFFLINE_RUNNERS in {FRAME_STEP_BENCH.name}"


# --- thread settings ---------------------------------------------------------------------------------------------


def test_threads_reach_torch_and_onnxruntime(speech: np.ndarray, restore_torch_threads: None) -> None:
    onnx = build("published-onnx", {}, threads=2)
    options = onnx.session.session.get_session_options()  # onnxruntime's own record of the session
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    result = measure_runner(onnx, frames=20, warmup=2, threads=2, audio=speech)
    assert torch.get_num_threads() == 2
    settings = result.stats["thread_settings"]
    assert settings["torch_intra_op"] == 2 and settings["runner"]["onnxruntime session"]["intra_op"] == 2
    stream = build("gtcrn-stream", {}, threads=1)
    assert torch.get_num_threads() == 1 and thread_report(stream)["runner_param"] == {"threads": 1}


def test_torch_inter_op_threads_are_set_or_the_reason_recorded(restore_torch_threads: None) -> None:
    """torch changes inter-op threads at most once per process: a later change is refused, recorded, not raised."""
    current = torch.get_num_interop_threads()
    for threads in (current + 1, current + 2):  # the first may take (if nothing set it before); the second cannot
        report = set_torch_threads(threads)
        took = torch.get_num_interop_threads() == threads
        assert report["torch_inter_op_requested"] == threads
        assert ("torch_inter_op_not_set" in report) == (not took)
    assert not took and "once per process" in report["torch_inter_op_not_set"]


def test_cli_threads_set_torch_inter_op_threads(tmp_path: Path) -> None:
    """In a fresh process (torch's default inter-op count is the core count), --threads 1 gives 1 inter-op thread."""
    out = tmp_path / "lat.json"
    args = ["latency", "-r", "published-onnx", "--frames", "20", "--warmup", "2", "--threads", "1", "--json", str(out)]
    cli = "from gtcrn_bench.cli import app; app()"
    done = subprocess.run([sys.executable, "-c", cli, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    settings = json.loads(out.read_text())["thread_settings"]
    assert (settings["torch_intra_op"], settings["torch_inter_op"], settings["torch_inter_op_requested"]) == (1, 1, 1)
    assert "torch_inter_op_not_set" not in settings


def test_thread_mismatch_is_refused(restore_torch_threads: None) -> None:
    onnx = build("published-onnx", {}, threads=1)
    with pytest.raises(ConfigError, match="intra-op threads"):
        check_threads(onnx, 2)
    with pytest.raises(ConfigError, match="contradicts threads 1"):
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
    result = CliRunner().invoke(app, [*args, "--compare-param", "optimization=basic", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    cmp = data["compare"]
    assert cmp["runner"] == "gtcrn-stream" and cmp["reference"] == "published-onnx" and cmp["confidence"] == 0.95
    assert cmp["ci_low"] <= cmp["ratio"] <= cmp["ci_high"] and cmp["ratio"] > 0
    assert set(cmp["reference_stats"]) >= JSON_KEYS and cmp["reference_params"]["optimization"] == "basic"
    assert data["compare_others"] == []  # one --compare: the JSON of before, plus an empty list
    assert "gtcrn-stream / published-onnx" in result.output and "CI" in result.output


def test_cli_compares_several_runners_against_the_first_compare(tmp_path: Path) -> None:
    """The same runner twice with other parameters, labelled by what was written; ratios to the first --compare."""
    out = tmp_path / "cmp.json"
    reference, basic, eager = (
        "gtcrn-onnx:model=published-onnx",
        "gtcrn-onnx:optimization=basic",
        "gtcrn-stream:engine=eager",
    )
    compares = [arg for spec in (reference, basic, eager) for arg in ("--compare", spec)]
    args = ["latency", "-r", "published-onnx", *compares, "--frames", "60", "--warmup", "4", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["runner"] == "published-onnx" and data["frames"] == 60
    assert (data["compare"]["runner"], data["compare"]["reference"]) == ("published-onnx", reference)
    others = data["compare_others"]
    assert [(o["runner"], o["name"], o["reference"]) for o in others] == [
        (basic, "gtcrn-onnx", reference),
        (eager, "gtcrn-stream", reference),
    ]
    assert others[0]["params"]["optimization"] == "basic" and others[1]["params"]["engine"] == "eager"
    for entry in [data["compare"], *others]:
        assert entry["ci_low"] <= entry["ratio"] <= entry["ci_high"]
    assert all(o["stats"]["frames"] == 60 and o["stats"]["runner"] == o["runner"] for o in others)
    output = " ".join(result.output.split())
    assert all(f"{key} / {reference}, model: mean ratio" in output for key in ("published-onnx", basic, eager))


def test_cli_compare_mistakes_are_one_line_errors() -> None:
    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["latency", "-r", "speex", "--frames", "10", *args])
        assert result.exit_code == 2 and "Traceback" not in result.output
        return " ".join(result.output.split())

    assert "applies to a single --compare" in run("--compare", "rnnoise", "--compare", "dtln", "--compare-param", "a=1")
    assert "--compare rnnoise: already timed" in run("--compare", "rnnoise", "--compare", "rnnoise")
    assert "not of the form key=value" in run("--compare", "gtcrn-stream:eager")


def test_cli_refuses_comparing_a_runner_with_itself() -> None:
    result = CliRunner().invoke(app, ["latency", "-r", "speex", "--compare", "speex", "--frames", "10"])
    assert result.exit_code == 2 and "different runner" in result.output
