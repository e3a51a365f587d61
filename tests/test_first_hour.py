"""What got in a new user's way in the first hour (issue 16), one test each: --data on any paired folder,
--no-latency, the console table at 80 columns, and the messages for common mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from conftest import MINI, paired_copy
from gtcrn_bench.cli import app
from gtcrn_bench.datasets import open_dataset
from gtcrn_bench.errors import InputError
from gtcrn_bench.suite.config import load_suite
from gtcrn_bench.suite.report import write_tables

cli = CliRunner()
FIRST = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[0]


def test_the_shipped_suite_runs_on_a_folder_without_manifest(tmp_path: Path, dtln_wheel: Path) -> None:
    """`run vctk --data DIR` took only the set `fetch vctk-demand` made; any clean/ + noisy/ folder must do."""
    data = paired_copy(tmp_path / "testset_16k", [FIRST])
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", "vctk", "--data", str(data), "--out", str(out), "--no-latency", "-j", "1"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long paths
    assert "no manifest.csv" in said and "not checked against sha256" in said
    rows = pd.read_csv(out / "per_utterance.csv")
    assert len(rows) == len(load_suite(Path("vctk")).runners) and rows["error"].isna().all()
    assert not (out / "latency.json").exists()
    assert json.loads((out / "metadata.json").read_text())["latency"] is None


def test_the_fetched_set_and_a_required_manifest_stay_strict(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="run `gtcrn-bench fetch vctk-demand`"):
        open_dataset("vctk-demand", None)  # the test store has no fetched set
    data = paired_copy(tmp_path / "d", [FIRST])
    with pytest.raises(InputError, match=r"no manifest\.csv"):
        open_dataset("vctk-demand", data, manifest=True)
    assert open_dataset("vctk-demand", MINI, limit=1).notices() == []  # a manifest is there and checked


def small_suite(path: Path, **extra: object) -> Path:
    suite = {
        "name": "small",
        "dataset": {"kind": "paired-dir", "root": str(MINI)},
        "runners": [{"name": "noisy"}, {"name": "gtcrn-stream", "params": {"checkpoint": "vctk"}}],
        "metrics": ["si_sdr"],
        **extra,
    }
    path.write_text(yaml.safe_dump(suite))
    return path


def test_no_latency_skips_the_timing_the_suite_asks_for(tmp_path: Path) -> None:
    suite = small_suite(tmp_path / "s.yaml", latency={"frames": 50, "warmup": 5})
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "1", "-j", "1", "--no-latency"])
    assert result.exit_code == 0, result.output
    assert not (out / "latency.json").exists() and "timing" not in result.output


def test_latency_frames_overrides_the_suite_and_turns_timing_on(tmp_path: Path) -> None:
    suite = small_suite(tmp_path / "s.yaml")  # no latency key: no timing by default
    out = tmp_path / "out"
    args = ["run", str(suite), "--out", str(out), "--limit", "1", "-j", "1", "--latency-frames", "20"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    timed = json.loads((out / "latency.json").read_text())
    assert timed["gtcrn-stream"]["frames"] == 20
    assert json.loads((out / "metadata.json").read_text())["latency"]["frames"] == 20


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The runners whose names the console cut (gtcrn-…, deepfi…, sherpa…), one utterance, two cheap metrics."""
    tmp = tmp_path_factory.mktemp("wide")
    runners = [
        {"name": "noisy"},
        {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}},
        {"name": "rnnoise"},
        {"name": "deepfilternet3"},
        {"name": "sherpa-gtcrn", "label": "sherpa-gtcrn (dns3)"},
    ]
    suite = small_suite(tmp / "wide.yaml", runners=runners, metrics=["pesq_wb", "stoi", "si_sdr"])
    out = tmp / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "1", "-j", "1"])
    assert result.exit_code == 0, result.output
    return out, suite


@pytest.mark.parametrize("width", [80, 60])
def test_the_console_table_is_readable_at_80_columns(wide_run: tuple[Path, Path], width: int) -> None:
    """No runner name cut, no number wrapped, and published complexity marked as report.md marks it."""
    out, suite = wide_run
    console = Console(width=width, record=True, color_system=None)
    write_tables(out, load_suite(suite), ["pesq_wb", "stoi", "si_sdr"], console)
    text = console.export_text()
    lines = text.splitlines()
    assert max(map(len, lines)) <= width
    for name in ("gtcrn-offline", "deepfilternet3", "sherpa-gtcrn (dns3)", "rnnoise"):
        assert any(line.startswith(name + " ") for line in lines), text
    assert "…" not in text
    rnnoise = next(line for line in lines if line.startswith("rnnoise ") and "K" in line)
    assert "60.0K*" in rnnoise and "published figure" in text  # pyrnnoise's figures come from the paper
    assert "1.80M*" in text  # DeepFilterNet3's 1.8 M parameters on one line, no "1,800.0 K" split


def test_enhance_names_a_missing_file_and_writes_nothing(tmp_path: Path) -> None:
    result = cli.invoke(app, ["enhance", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "out_a"), "-r", "noisy"])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope.wav'}: no such file" in result.output and "System error" not in result.output
    assert "0 of 1 files enhanced; nothing written" in result.output
    assert not (tmp_path / "out_a").exists()


def test_a_checkpoint_typo_in_a_suite_names_the_suite_file(tmp_path: Path) -> None:
    suite = small_suite(tmp_path / "typo.yaml", runners=[{"name": "gtcrn-offline", "params": {"checkpoint": "vctkk"}}])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "o"), "--limit", "1"])
    assert result.exit_code == 2
    assert f"{suite}: runners[0] (gtcrn-offline) cannot be built" in result.output
    assert "did you mean 'vctk'?" in result.output


def test_a_runner_typo_names_the_entry_and_suggests(tmp_path: Path) -> None:
    suite = small_suite(tmp_path / "typo.yaml", runners=[{"name": "noisy"}, {"name": "gtcrn-ofline"}])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "o"), "--limit", "1"])
    assert result.exit_code == 2
    assert "runners[1].name: unknown runner 'gtcrn-ofline'; did you mean 'gtcrn-offline'?" in result.output


def test_a_suite_including_vctk_turns_its_timing_off_with_latency_null(tmp_path: Path) -> None:
    """The suite-file form of --no-latency: `latency: null` overrides the included suite's timing section."""
    suite = tmp_path / "quick.yaml"
    suite.write_text("include: vctk\nname: quick\nlatency: null\n")
    assert load_suite(Path("vctk")).latency is not None
    assert load_suite(suite).latency is None
