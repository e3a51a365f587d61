"""Shards 1/3, 2/3, 3/3 merged equal the unsharded run row for row; merge refuses what is not one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_suite_run import write_suite
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench import metrics
from gtcrn_bench.cli import app

cli = CliRunner()
RUNNERS = [{"name": "noisy"}, {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}}]
METRICS = ["si_sdr", "stoi"]
LIMIT = 7  # not a multiple of 3: shards of 3, 2 and 2 utterances
COMPARED = ["runner", "utterance", *METRICS, "duration_s", "error"]


def run(*args: str) -> None:
    result = cli.invoke(app, ["run", *args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def shard_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("shards")
    suite = write_suite(tmp / "s.yaml", MINI, RUNNERS, metrics=METRICS)
    run(str(suite), "--out", str(tmp / "whole"), "--limit", str(LIMIT), "-j", "2")
    for i in (1, 2, 3):
        run(str(suite), "--out", str(tmp / f"shard{i}"), "--limit", str(LIMIT), "-j", "2", "--shard", f"{i}/3")
    return tmp


def rows(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "per_utterance.csv", dtype={"error": str})
    return frame[COMPARED].sort_values(["runner", "utterance"]).reset_index(drop=True)


def test_merged_shards_equal_the_unsharded_run(shard_runs: Path) -> None:
    sizes = [len(pd.read_csv(shard_runs / f"shard{i}" / "per_utterance.csv")) for i in (1, 2, 3)]
    assert sizes == [3 * 2, 2 * 2, 2 * 2]  # disjoint, balanced
    merged = shard_runs / "merged"
    shards = [str(shard_runs / f"shard{i}") for i in (3, 1, 2)]  # any order
    result = cli.invoke(app, ["merge", str(merged), *shards])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(rows(merged), rows(shard_runs / "whole"))
    summary = pd.read_csv(merged / "summary.csv").set_index(["runner", "metric"])
    whole = pd.read_csv(shard_runs / "whole" / "summary.csv").set_index(["runner", "metric"])
    pd.testing.assert_frame_equal(summary, whole, rtol=1e-12)
    assert (merged / "report.md").is_file() and (merged / "complexity.json").is_file()
    meta = json.loads((merged / "metadata.json").read_text())
    assert [m["shard"] for m in meta["merged_from"]] == ["1/3", "2/3", "3/3"] and "shard" not in meta
    assert meta["cpu_seconds"]["runners"]["gtcrn-offline"] > 0


def copy_shards(shard_runs: Path, tmp_path: Path) -> list[Path]:
    copies = []
    for i in (1, 2, 3):
        shutil.copytree(shard_runs / f"shard{i}", tmp_path / f"shard{i}")
        copies.append(tmp_path / f"shard{i}")
    return copies


def refusal(out: Path, shards: list[Path]) -> str:
    result = cli.invoke(app, ["merge", str(out), *map(str, shards)])
    assert result.exit_code == 2, result.output
    assert not (out / "per_utterance.csv").exists()
    return " ".join(result.output.split())


def test_merge_refuses_missing_twice_given_or_foreign_shards(shard_runs: Path, tmp_path: Path) -> None:
    one, two, three = copy_shards(shard_runs, tmp_path)
    out = tmp_path / "merged"
    assert "shard 3/3 missing" in refusal(out, [one, two])
    assert f"shard 2/3 given twice: {two}" in refusal(out, [one, two, two, three]).replace("\n", "")
    meta = json.loads((three / "metadata.json").read_text())
    meta["metrics"]["stoi"] = "pystoi==0.0.0"
    (three / "metadata.json").write_text(json.dumps(meta))
    assert f"{three}: its metrics (or their package versions) differ" in refusal(out, [one, two, three])
    assert "not a shard" in refusal(out, [one, two, shard_runs / "whole"])


def test_merge_refuses_duplicated_and_missing_pairs_naming_them(shard_runs: Path, tmp_path: Path) -> None:
    one, two, three = copy_shards(shard_runs, tmp_path)
    lines = (two / "per_utterance.csv").read_text().splitlines(keepends=True)
    (two / "per_utterance.csv").write_text("".join(lines[:-1]))  # the last row lost
    runner, utterance = lines[-1].split(",")[:2]
    assert f"1 pairs missing: {runner} on {utterance} ({two})" in refusal(tmp_path / "m", [one, two, three])
    (two / "per_utterance.csv").write_text("".join([*lines, lines[-1]]))  # and written twice
    assert f"1 pairs duplicated: {runner} on {utterance}" in refusal(tmp_path / "m", [one, two, three])


def test_cpu_seconds_per_runner_and_metric_group_are_recorded_and_reported(shard_runs: Path) -> None:
    meta = json.loads((shard_runs / "whole" / "metadata.json").read_text())
    cpu = meta["cpu_seconds"]
    assert set(cpu["runners"]) == {"noisy", "gtcrn-offline"}
    assert set(cpu["metrics"]) == {metrics.get(name).group for name in METRICS}
    assert all(seconds > 0 for seconds in cpu["metrics"].values())
    # the model costs more than passing the input through (both enhanced, none cached: a fresh store)
    assert cpu["runners"]["gtcrn-offline"] > cpu["runners"]["noisy"]
    report = (shard_runs / "whole" / "report.md").read_text()
    assert "## Where the CPU time went" in report
    assert f"| runner | gtcrn-offline | {cpu['runners']['gtcrn-offline']:.1f} |" in report
