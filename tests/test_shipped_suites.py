"""The suites the project ships: they hold every runner, and suites/vctk.yaml runs end to end on real pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from conftest import MINI, ROOT
from gtcrn_bench import metrics
from gtcrn_bench.cli import app
from gtcrn_bench.runners import registry
from gtcrn_bench.suite.config import load_suite

SUITES = {"vctk": "vctk", "dns3": "dns3"}  # suite file -> the checkpoint its GTCRN rows use
GTCRN_WAYS = ("gtcrn-offline", "gtcrn-stream", "gtcrn-onnx")


#: built-in runners the shipped suites leave out, and why
NOT_SHIPPED = {"gtcrn-converted": "deployment conversions have their own command and gate (gtcrn-bench conversions)"}


def builtin_runners() -> set[str]:
    """Every runner the package itself registers (tests register throwaway ones of their own), less NOT_SHIPPED."""
    own = {name for name, cls in registry.available().items() if cls.__module__.startswith("gtcrn_bench.")}
    return own - set(NOT_SHIPPED)


@pytest.mark.parametrize("suite_name", SUITES)
def test_shipped_suite_runs_gtcrn_three_ways_beside_every_baseline(suite_name: str) -> None:
    suite = load_suite(ROOT / "suites" / f"{suite_name}.yaml")
    names = {entry.name for entry in suite.runners}
    assert names == builtin_runners()
    for way in GTCRN_WAYS:
        (entry,) = [e for e in suite.runners if e.name == way]
        assert entry.params == {"checkpoint": SUITES[suite_name]}
    assert suite.metrics is None and suite.complexity and suite.latency is not None and suite.dataset.published


@pytest.fixture(scope="module")
def vctk_run(tmp_path_factory: pytest.TempPathFactory, dtln_wheel: Path) -> Path:
    """suites/vctk.yaml on two real pairs, as shipped but for fewer latency frames (test time)."""
    tmp = tmp_path_factory.mktemp("vctk")
    suite = yaml.safe_load((ROOT / "suites" / "vctk.yaml").read_text())
    suite["latency"] = {"frames": 100, "warmup": 10}
    path = tmp / "vctk.yaml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    out = tmp / "out"
    args = ["run", str(path), "--data", str(MINI), "--limit", "2", "-j", "2", "--out", str(out), "--strict"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_vctk_suite_scores_every_runner_with_every_metric(vctk_run: Path) -> None:
    per_utt = pd.read_csv(vctk_run / "per_utterance.csv")
    labels = [e.key for e in load_suite(ROOT / "suites" / "vctk.yaml").runners]
    assert sorted(per_utt["runner"].unique()) == sorted(labels) and len(per_utt) == 2 * len(labels)
    assert per_utt["error"].isna().all()
    assert not per_utt[metrics.resolve_set(None)].isna().any().any()
    gtcrn = per_utt[per_utt["runner"].isin(GTCRN_WAYS)].groupby("runner")["pesq_wb"].mean()
    assert gtcrn.max() - gtcrn.min() < 1e-3  # the same weights run three ways score alike
    assert gtcrn.min() > per_utt[per_utt["runner"] == "noisy"]["pesq_wb"].mean()


def test_vctk_suite_reports_complexity_latency_and_published_rows(vctk_run: Path) -> None:
    labels = [e.key for e in load_suite(ROOT / "suites" / "vctk.yaml").runners]
    complexity = json.loads((vctk_run / "complexity.json").read_text())
    assert {k for k, v in complexity.items() if v["kind"] == "published"} == {"rnnoise", "deepfilternet3"}
    counted = {*GTCRN_WAYS, "dtln", "sherpa-gtcrn (dns3)", "ul-unas (dns3)"}
    assert {k for k, v in complexity.items() if v["kind"] == "measured"} == counted
    assert complexity["ul-unas (dns3)"]["params_total"] == 170751  # counted beside the paper's ~171 k
    assert "2503.00340" in complexity["ul-unas (dns3)"]["published"]["source"]
    latency = json.loads((vctk_run / "latency.json").read_text())
    assert set(latency) >= set(labels) - {"noisy"}
    report = (vctk_run / "report.md").read_text()
    assert all(label in report for label in labels)
    assert "published" in report and "GTCRN" in report
    assert (vctk_run / "report.html").stat().st_size > 10_000
