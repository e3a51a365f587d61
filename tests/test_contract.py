"""The runner contract: a runner written here, using only what runners/base.py declares, gets everything.

``ContractGain`` implements the required methods of a frame runner (``reset``,
``process_hop``, ``flush``) and declares two optional capabilities the contract
lists (``thread_param`` and ``countable``). Without any other change to the
harness it gets a suite row, a counted complexity figure, latency targets with
its thread settings read back, and its thread count from the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app
from gtcrn_bench.complexity import runner_figures
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency import measure_runner
from gtcrn_bench.latency.targets import targets
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Countable, FrameRunner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.threads import thread_report
from gtcrn_bench.suite.config import load_suite

HOP = 128


@register
class ContractGain(FrameRunner):
    """A streaming runner that scales each 8 ms hop through a (HOP x HOP) diagonal linear layer in torch."""

    name = "test-contract-gain"
    description = "test runner: required methods only, plus thread_param and countable"
    hop = HOP
    thread_param = "threads"

    def __init__(self, gain: float = 0.5, threads: int = 1) -> None:
        torch.set_num_threads(threads)
        self.layer = torch.nn.Linear(HOP, HOP, bias=False)
        with torch.no_grad():
            self.layer.weight.copy_(torch.eye(HOP) * gain)

    def reset(self) -> None:
        """No state between hops."""

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.layer(torch.from_numpy(np.ascontiguousarray(hop, dtype=np.float32))).numpy()

    def flush(self, tail: np.ndarray) -> np.ndarray:
        return tail * np.float32(self.params()["gain"])

    def countable(self) -> Countable:
        return Countable(self.name, step=(self.layer, (torch.zeros(HOP),)), steps_per_second=self.hops_per_second)


def test_enhances_through_the_frame_path() -> None:
    runner = registry.build("test-contract-gain", {"gain": "0.25"})
    wave = np.random.default_rng(1).standard_normal(1000).astype(np.float32)  # 7 hops and a 104-sample tail
    np.testing.assert_allclose(runner.enhance(wave), wave * 0.25, rtol=1e-6)


def test_gets_a_counted_complexity_figure() -> None:
    figures = runner_figures(registry.build("test-contract-gain"))
    assert figures is not None and figures["kind"] == "measured" and figures["source"] == "pytorch"
    assert figures["macs_per_frame"] == HOP * HOP  # one HOP x HOP matrix-vector product per hop
    assert figures["macs_per_second"] == HOP * HOP * 16000 / HOP
    assert figures["params_total"] == HOP * HOP


def test_gets_latency_targets_and_thread_control(mix_wav: np.ndarray) -> None:
    runner = registry.build("test-contract-gain", {}, threads=2)
    assert runner.params()["threads"] == 2  # the thread count reached the declared parameter
    plan = targets(runner, mix_wav)
    assert plan.kind == "frame" and plan.step is None and plan.hop_ms == 8.0  # no model call: the step is timed
    result = measure_runner(runner, frames=20, warmup=2, threads=2, audio=mix_wav)
    assert result.frames_ms.size == 20 and result.stats["rtf"] > 0
    assert thread_report(runner)["runner_param"] == {"threads": 2}
    with pytest.raises(ConfigError, match="threads=3 contradicts threads 2"):
        registry.build("test-contract-gain", {"threads": "3"}, threads=2)


def test_gets_suite_rows_complexity_and_latency(tmp_path: Path) -> None:
    suite = {
        "name": "contract",
        "dataset": {"kind": "paired-dir", "root": str(MINI)},
        "runners": [{"name": "noisy"}, {"name": "test-contract-gain", "params": {"gain": 0.5}}],
        "metrics": ["si_sdr", "stoi"],
        "latency": {"frames": 30, "warmup": 3},
        "threads": 1,
    }
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(suite))
    assert load_suite(path).reference_key == "noisy"
    out = tmp_path / "out"
    # -j 1: this runner is registered by this test module, which spawned workers would not import
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--limit", "2", "-j", "1", "--strict"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "per_utterance.csv").set_index(["runner", "utterance"])
    gain, noisy = rows.loc["test-contract-gain"], rows.loc["noisy"]
    assert len(gain) == 2 and gain["error"].isna().all()
    np.testing.assert_allclose(gain["si_sdr"], noisy["si_sdr"], atol=1e-3)  # SI-SDR ignores a gain
    assert json.loads((out / "complexity.json").read_text())["test-contract-gain"]["macs_per_frame"] == HOP * HOP
    assert json.loads((out / "latency.json").read_text())["test-contract-gain"]["hop_ms"] == 8.0
    assert "noisy" not in json.loads((out / "latency.json").read_text())  # the reference row is not timed
