"""`gtcrn-bench run` end to end on real VoiceBank+DEMAND pairs: files, columns, resume, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench import metrics, store
from gtcrn_bench.cli import app
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.metrics import Metric, Pair
from gtcrn_bench.metrics import registry as metric_registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.suite import rows as rowfile

cli = CliRunner()
METRICS = metrics.names()


def write_suite(path: Path, root: Path, runners: list[dict], **extra: object) -> Path:
    suite = {
        "name": "mini",
        "description": "test suite",
        "dataset": {"kind": "paired-dir", "root": str(root), "published": "vctk-demand"},
        "runners": runners,
        **extra,
    }
    path.write_text(yaml.safe_dump(suite))
    return path


GTCRN_RUNNERS = [
    {"name": "noisy"},
    {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}},
    {"name": "gtcrn-stream", "params": {"checkpoint": "vctk"}},
]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real pairs, three runners, every metric, two worker processes."""
    tmp = tmp_path_factory.mktemp("run")
    suite = write_suite(tmp / "mini.yaml", MINI, GTCRN_RUNNERS, latency={"frames": 100, "warmup": 10})
    out = tmp / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "3", "-j", "2"])
    assert result.exit_code == 0, result.output
    return out


def test_run_writes_every_file_with_the_documented_columns(full_run: Path) -> None:
    for name in ("per_utterance.csv", "summary.csv", "report.md", "report.html", "metadata.json"):
        assert (full_run / name).is_file(), name
    per_utt = pd.read_csv(full_run / "per_utterance.csv")
    assert list(per_utt.columns) == ["runner", "utterance", *METRICS, "duration_s", "process_s", "error"]
    assert len(per_utt) == 9 and not per_utt.duplicated(["runner", "utterance"]).any()
    assert per_utt["error"].isna().all()
    summary = pd.read_csv(full_run / "summary.csv")
    assert list(summary.columns) == [
        "runner", "metric", "n", "mean", "std", "ci95_low", "ci95_high", "improvement_over_noisy"
    ]  # fmt: skip
    assert len(summary) == 3 * len(METRICS)


def test_results_are_real_and_consistent(full_run: Path) -> None:
    # rows arrive in completion order (two workers): align them by utterance before comparing
    per_utt = pd.read_csv(full_run / "per_utterance.csv").set_index(["runner", "utterance"]).sort_index()
    offline, stream, noisy = (per_utt.xs(r) for r in ("gtcrn-offline", "gtcrn-stream", "noisy"))
    # streaming equals offline to ~1e-7 on the waveform, so every metric agrees to a few 1e-4
    assert np.allclose(offline[METRICS], stream[METRICS], atol=5e-4)
    assert (offline["pesq_wb"] > noisy["pesq_wb"]).all()
    assert (offline["si_sdr"] > noisy["si_sdr"]).all()
    summary = pd.read_csv(full_run / "summary.csv").set_index(["runner", "metric"])
    assert summary.loc[("gtcrn-offline", "pesq_wb"), "improvement_over_noisy"] > 0.3


def test_latency_stage_times_every_model_runner(full_run: Path) -> None:
    latency = json.loads((full_run / "latency.json").read_text())
    assert set(latency) == {"gtcrn-offline", "gtcrn-stream"}  # noisy has nothing to time
    assert latency["gtcrn-stream"]["kind"] == "frame" and latency["gtcrn-stream"]["hop_ms"] == 16.0
    assert latency["gtcrn-offline"]["kind"] == "offline"
    assert all(entry["rtf"] > 0 for entry in latency.values())
    with np.load(full_run / "latency_frames.npz") as frames:
        assert frames["gtcrn-stream"].size == 100
    assert (full_run / "latency_hist.png").is_file()
    report = (full_run / "report.md").read_text()
    assert "RTF ↓" in report
    assert "## Latency per runner" in report
    assert (
        "| runner | what is timed | hop (ms) | mean (ms) | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | RTF |" in report
    )
    stream = next(line for line in report.splitlines() if line.startswith("| gtcrn-stream | step(spectrum)"))
    cells = [c.strip() for c in stream.strip("|").split("|")]
    entry = latency["gtcrn-stream"]
    assert cells[2] == "16.0" and cells[3] == f"{entry['mean_ms']:.3f}" and cells[8] == f"{entry['rtf']:.4f}"
    assert cells[10] == f"{entry['step_rtf']:.4f}" and cells[11] == str(entry["streams_per_core"])
    assert "| gtcrn-offline | process: the whole" in report  # an offline runner: its "hop" is the file
    page = (full_run / "report.html").read_text()
    assert '<table class="latency">' in page and "<th>gtcrn-stream</th><td>step(spectrum): the model call</td>" in page


def test_complexity_json_holds_the_counted_figures(full_run: Path) -> None:
    complexity = json.loads((full_run / "complexity.json").read_text())
    assert set(complexity) == {"gtcrn-offline", "gtcrn-stream"}  # noisy has no model
    assert complexity["gtcrn-stream"]["kind"] == "measured" and complexity["gtcrn-stream"]["convention"] == "exact"
    assert complexity["gtcrn-stream"]["params_total"] == 48245


def test_report_shows_published_rows_labelled(full_run: Path) -> None:
    report = (full_run / "report.md").read_text()
    assert "| gtcrn-offline |" in report
    assert "*published:* GTCRN | 2.870" in report
    assert "not measured here" in report


def test_metadata_makes_the_run_reproducible(full_run: Path) -> None:
    meta = json.loads((full_run / "metadata.json").read_text())
    env = meta["environment"]
    assert env["packages"]["torch"].startswith("2.13.0")
    assert env["git"]["commit"] and len(env["git"]["commit"]) == 40
    assert env["cpu"]["model"] and env["threads"]["torch_intra_op"] >= 1
    assert meta["runners"]["gtcrn-offline"]["artefacts"]["checkpoint"] == store.ARTEFACTS["vctk"].sha256
    assert len(meta["dataset"]["manifest_sha256"]) == 64
    assert "gtcrn-stream" in meta["suite_text"]
    assert meta["metrics"]["pesq_wb"].startswith("pesq==")


def test_resume_after_a_kill_loses_and_duplicates_nothing(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    lines = (full_run / "per_utterance.csv").read_text().splitlines(keepends=True)
    # a run killed while writing its fifth row: four complete rows and half a line
    (out / "per_utterance.csv").write_text("".join(lines[:5]) + lines[5][:30])
    shutil.copy(full_run / "metadata.json", out / "metadata.json")
    first = json.loads((out / "metadata.json").read_text())
    suite = write_suite(tmp_path / "mini.yaml", MINI, GTCRN_RUNNERS)
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "3", "-j", "1", "--resume"])
    assert result.exit_code == 0, result.output
    assert "4 rows kept, 5 to compute" in result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["environment"] == first["environment"] and meta["started_utc"] == first["started_utc"]
    (resumed,) = meta["resumed"]  # the first run's record kept, this session appended
    assert resumed["jobs"] == 1 and resumed["time_utc"] >= first["started_utc"]
    assert set(resumed["environment"]) == {"python", "platform", "git", "packages", "cpu"}
    resumed = (out / "per_utterance.csv").read_text().splitlines(keepends=True)
    assert resumed[:5] == lines[:5]  # kept rows untouched
    frame = pd.read_csv(out / "per_utterance.csv")
    assert len(frame) == 9 and not frame.duplicated(["runner", "utterance"]).any()
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "3"])
    assert result.exit_code == 2 and "--resume" in result.output  # never overwrites a run by accident


def test_resume_with_other_metrics_is_refused_and_loses_no_row(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(full_run, out)
    before = (out / "per_utterance.csv").read_text()
    suite = write_suite(tmp_path / "mini.yaml", MINI, GTCRN_RUNNERS, metrics=["pesq_wb", "si_sdr"])
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "3", "-j", "1", "--resume"])
    assert result.exit_code == 2
    assert "cannot resume" in result.output and "only in the file: pesq_nb, stoi" in result.output
    assert "only in this run: -" in result.output and "Traceback" not in result.output
    assert (out / "per_utterance.csv").read_text() == before


def test_enhanced_audio_is_reused_by_a_rerun_and_missed_when_a_parameter_changes(
    full_run: Path, tmp_path: Path
) -> None:
    suite = write_suite(tmp_path / "si.yaml", MINI, GTCRN_RUNNERS, metrics=["si_sdr"])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "si"), "--limit", "3", "-j", "1"])
    assert result.exit_code == 0, result.output
    rerun = pd.read_csv(tmp_path / "si" / "per_utterance.csv").set_index(["runner", "utterance"]).sort_index()
    assert len(rerun) == 9 and rerun["process_s"].isna().all()  # nothing enhanced again
    first = pd.read_csv(full_run / "per_utterance.csv").set_index(["runner", "utterance"]).sort_index()
    assert (rerun["si_sdr"] == first["si_sdr"]).all()  # scored on the very same audio
    changed = [GTCRN_RUNNERS[0], {"name": "gtcrn-offline", "params": {"checkpoint": "dns3"}}, GTCRN_RUNNERS[2]]
    suite = write_suite(tmp_path / "dns3.yaml", MINI, changed, metrics=["si_sdr"])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "dns3"), "--limit", "3", "-j", "1"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "dns3" / "per_utterance.csv")
    offline = rows["runner"] == "gtcrn-offline"
    assert rows.loc[offline, "process_s"].notna().all() and rows.loc[~offline, "process_s"].isna().all()


def never(pair: Pair) -> dict[str, float]:
    raise AssertionError("a metric whose package is missing must not run")


def test_default_metrics_whose_package_is_missing_are_announced_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ghost = Metric("ghost", True, False, "ghost-dist", "test metric", never, "ghost", modules=("no_such_module_x",))
    monkeypatch.setattr(metric_registry, "METRICS", metric_registry.METRICS.fresh_copy())
    metric_registry.register(ghost)
    suite = write_suite(tmp_path / "s.yaml", MINI, [{"name": "noisy"}])  # no metrics: every one installed
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "1", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "warning: not computing ghost: needs the Python module 'no_such_module_x'" in result.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["metrics_unavailable"] == {"ghost": metrics.unavailable()["ghost"]}
    assert list(meta["metrics"]) == METRICS and meta["metrics_skipped"] == {}
    assert "ghost" not in pd.read_csv(out / "per_utterance.csv").columns


def test_a_reference_free_set_computes_the_reference_free_metrics_without_errors(tmp_path: Path) -> None:
    root = tmp_path / "blind"
    (root / "noisy").mkdir(parents=True)
    for name in ("p232_001.wav", "p232_002.wav"):
        shutil.copy(MINI / "noisy" / name, root / "noisy" / name)
    suite = write_suite(tmp_path / "s.yaml", root, [{"name": "noisy"}], metrics=["pesq_wb", "si_sdr", "dnsmos_ovrl"])
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "-j", "1", "--strict"])
    assert result.exit_code == 0, result.output  # no error rows: the skip is expected, not a failure
    assert result.output.count("reference-free dataset") == 1
    assert "computing dnsmos_ovrl; not computed: pesq_wb, si_sdr" in result.output
    rows = pd.read_csv(out / "per_utterance.csv")
    assert list(rows.columns) == rowfile.columns(["dnsmos_ovrl"])
    assert rows["error"].isna().all() and (rows["dnsmos_ovrl"] > 1).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert set(meta["metrics_skipped"]) == {"pesq_wb", "si_sdr"} and "reference" in meta["metrics_skipped"]["si_sdr"]
    assert meta["dataset"]["references"] is False and len(meta["dataset"]["pairs_sha256"]) == 64
    suite = write_suite(tmp_path / "ref.yaml", root, [{"name": "noisy"}], metrics=["si_sdr"])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "o2"), "-j", "1"])
    assert result.exit_code == 2 and "metrics: none can be computed on this dataset" in result.output


@register
class NaNAfterOneSecond(Runner):
    """A broken model: NaN from sample 16000 on."""

    name = "test-nan"

    def __init__(self) -> None:
        pass

    def process(self, wave: np.ndarray) -> np.ndarray:
        out = wave.copy()
        out[16000:] = np.nan
        return out


def test_bad_pairs_and_outputs_become_error_rows_and_the_run_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for side in ("clean", "noisy"):
        (root / side).mkdir(parents=True)
        shutil.copy(MINI / side / "p232_001.wav", root / side / "good.wav")
    noisy, _ = sf.read(str(MINI / "noisy" / "p232_002.wav"), dtype="float32")
    sf.write(str(root / "clean" / "silent.wav"), np.zeros_like(noisy), 16000)
    sf.write(str(root / "noisy" / "silent.wav"), noisy, 16000)
    (root / "clean" / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    shutil.copy(MINI / "noisy" / "p232_007.wav", root / "noisy" / "broken.wav")
    suite = write_suite(
        tmp_path / "s.yaml", root, [{"name": "noisy"}, {"name": "test-nan"}], metrics=["pesq_wb", "si_sdr"]
    )
    out = tmp_path / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output  # errors are recorded, not fatal
    rows = pd.read_csv(out / "per_utterance.csv").set_index(["runner", "utterance"])
    assert rows.loc[("noisy", "good.wav"), "pesq_wb"] > 1 and pd.isna(rows.loc[("noisy", "good.wav"), "error"])
    assert pd.isna(rows.loc[("noisy", "silent.wav"), "pesq_wb"])
    assert "silent" in rows.loc[("noisy", "silent.wav"), "error"]
    assert "broken.wav" in rows.loc[("noisy", "broken.wav"), "error"]
    assert "NaN" in rows.loc[("test-nan", "good.wav"), "error"]
    assert "sample 16000" in rows.loc[("test-nan", "good.wav"), "error"]
    assert "skipped/partial" in result.output  # and on the console summary
    assert "Skipped or partial rows" in (out / "report.md").read_text()
    assert "no audio: test-nan produced NaN" in (out / "report.html").read_text()  # the listening section goes on
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "-j", "1", "--resume", "--strict"])
    assert result.exit_code == 1


@register
class ClippingRunner(Runner):
    """A model whose output leaves [-1, 1]: it would clip when written."""

    name = "test-clipping"

    def __init__(self) -> None:
        pass

    def process(self, wave: np.ndarray) -> np.ndarray:
        out = wave.copy()
        out[1000:1010] = 1.5
        return out


def bad_input_set(root: Path) -> None:
    """good.wav, and one pair per kind of bad input, from a real VoiceBank+DEMAND pair."""
    clean, _ = sf.read(str(MINI / "clean" / "p232_001.wav"), dtype="float32")
    noisy, _ = sf.read(str(MINI / "noisy" / "p232_001.wav"), dtype="float32")
    for side in ("clean", "noisy"):
        (root / side).mkdir(parents=True)
    pairs = {
        "good.wav": (clean, noisy, 16000),
        "rates.wav": (clean, noisy, 8000),  # the noisy header says 8 kHz
        "lengths.wav": (clean[:-320], noisy, 16000),  # 20 ms shorter: beyond the 10 ms tolerance
        "short.wav": (clean[:3200], noisy[:3200], 16000),  # 0.2 s: below PESQ's minimum of 0.25 s
    }
    for name, (c, n, noisy_rate) in pairs.items():
        sf.write(str(root / "clean" / name), c, 16000)
        sf.write(str(root / "noisy" / name), n, noisy_rate)


def test_bad_input_gives_error_rows_with_empty_metrics_and_strict_fails(tmp_path: Path) -> None:
    bad_input_set(tmp_path / "data")
    runners = [{"name": "noisy"}, {"name": "test-clipping"}]
    suite = write_suite(tmp_path / "s.yaml", tmp_path / "data", runners, metrics=["pesq_wb", "si_sdr"])
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == 0, result.output  # the run goes on past every bad pair
    rows = pd.read_csv(tmp_path / "out" / "per_utterance.csv").set_index(["runner", "utterance"])
    assert len(rows) == 8
    assert rows.loc[("noisy", "good.wav"), "pesq_wb"] > 1 and pd.isna(rows.loc[("noisy", "good.wav"), "error"])
    expected = {
        "rates.wav": "sample rates differ: clean 16000 Hz, noisy 8000 Hz",
        "lengths.wav": "lengths differ by 20.0 ms",
    }
    for runner in ("noisy", "test-clipping"):
        for name, reason in expected.items():
            row = rows.loc[(runner, name)]
            assert row[["pesq_wb", "si_sdr"]].isna().all() and reason in row["error"], (runner, name)
    short = rows.loc[("noisy", "short.wav")]
    assert pd.isna(short["pesq_wb"]) and "shorter than PESQ's minimum of 0.25 s" in short["error"]
    assert not pd.isna(short["si_sdr"])  # only the metric that cannot take it is left empty
    for name in ("good.wav", "short.wav"):
        clipped = rows.loc[("test-clipping", name)]
        assert clipped[["pesq_wb", "si_sdr"]].isna().all() and "the estimate clips" in clipped["error"]
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "strict"), "-j", "1", "--strict"])
    assert result.exit_code == 1 and (tmp_path / "strict" / "report.md").is_file()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"runners": [{"name": "noisy"}, {"name": "gtcrn-ofline"}]},
            "runners[1].name: unknown runner 'gtcrn-ofline'; did you mean 'gtcrn-offline'? (available: ",
        ),
        ({"runners": [{"name": "published-onnx", "params": {"model": "x.onnx"}}]}, "runners[0].params: runner"),
        (
            {"runners": [{"name": "gtcrn-offline", "params": {"checkpoint": "vctkk"}}]},
            "runners[0] (gtcrn-offline) cannot be built: 'vctkk' is neither a file nor a known alias; "
            "did you mean 'vctk'?",
        ),
        (
            {"runners": [{"name": "gtcrn-offline", "params": {"chekpoint": "vctk"}}]},
            "runners[0].params: runner 'gtcrn-offline' has no parameter chekpoint",
        ),
        ({"runners": [{"name": "noisy", "parms": {}}]}, "runners[0].parms: unknown key"),
        ({"metrics": ["pesq_wide"]}, "unknown pesq_wide"),
        ({"threads": 0}, "threads: Input should be greater than 0"),
        (
            {"dataset": {"root": str(MINI), "published": "vctk-demnd"}},
            "dataset.published: unknown 'vctk-demnd'; known: vctk-demand, dns3-blind",
        ),
        ({"dataset": {"kind": "nope", "root": str(MINI)}}, "dataset.kind: unknown dataset kind 'nope'; known: "),
        ({"dataset": {"root": "/no/such/set"}}, "dataset.root: /no/such/set: not a paired dataset"),
        ({"dataset": {"kind": "paired-dir"}}, "dataset.root (not set: the kind's default; set it or pass --data DIR)"),
        (
            {"runners": [{"name": "gtcrn-onnx", "params": {"intra_threads": 2}}]},
            "runners[0].params.intra_threads: 2 contradicts threads: 1",
        ),
    ],
)
def test_suite_errors_name_the_file_and_key(tmp_path: Path, change: dict, message: str) -> None:
    suite = write_suite(tmp_path / "bad.yaml", MINI, [{"name": "noisy"}])
    data = yaml.safe_load(suite.read_text()) | change
    suite.write_text(yaml.safe_dump(data))
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert str(suite) in result.output and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o" / "per_utterance.csv").exists()  # refused before any row is computed


def test_a_bad_data_option_is_named(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "s.yaml", MINI, [{"name": "noisy"}])
    result = cli.invoke(app, ["run", str(suite), "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and f"--data {tmp_path / 'none'}: " in result.output, result.output


def test_row_file_columns_are_stable() -> None:
    assert rowfile.columns(["a"]) == ["runner", "utterance", "a", "duration_s", "process_s", "error"]


@pytest.mark.parametrize("name", ["vctk", "dns3"])
def test_shipped_suites_are_valid(name: str) -> None:
    from gtcrn_bench.suite.config import load_suite, packaged_suites

    assert set(packaged_suites()) == {"vctk", "dns3"}
    suite = load_suite(name)
    assert suite.runners[0].name == "noisy" and suite.dataset.published


def test_report_rebuilds_a_run_and_compares_two(full_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(full_run, other)
    per_utt = pd.read_csv(other / "per_utterance.csv")
    # a regression far outside the 95% intervals of three utterances (their half-width is ~15 dB here)
    per_utt.loc[per_utt["runner"] == "gtcrn-offline", "si_sdr"] -= 100.0
    per_utt.to_csv(other / "per_utterance.csv", index=False)
    (other / "report.md").unlink()
    result = cli.invoke(app, ["report", str(other)])
    assert result.exit_code == 0, result.output
    assert (other / "report.md").is_file() and (other / "report.html").is_file()
    result = cli.invoke(app, ["report", str(full_run), "--compare", str(other)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "gtcrn-offline" in line and "si_sdr" in line]
    assert lines and "+100.0000" in lines[0] and "yes" in lines[0]
    unchanged = [line for line in result.output.splitlines() if "gtcrn-stream" in line and "si_sdr" in line]
    assert unchanged and "+0.0000" in unchanged[0] and "yes" not in unchanged[0]
    result = cli.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no metadata.json" in result.output


def test_a_suite_includes_a_packaged_suite_by_name_and_overrides_keys(tmp_path: Path) -> None:
    from gtcrn_bench.suite.config import load_suite

    path = tmp_path / "mine.yaml"
    path.write_text(f"include: vctk\nname: mine\ndataset: {{kind: paired-dir, root: {MINI}}}\nlatency: null\n")
    suite, shipped = load_suite(path), load_suite("vctk")
    assert suite.name == "mine" and suite.latency is None and suite.dataset.kind == "paired-dir"
    assert suite.dataset.published == "vctk-demand"  # dataset keys merged one by one
    assert suite.runners == shipped.runners and suite.runners[1].params == {"checkpoint": "vctk"}  # vars applied
    (tmp_path / "loop.yaml").write_text("include: loop.yaml\nname: x\n")
    with pytest.raises(ConfigError, match="includes itself"):
        load_suite(tmp_path / "loop.yaml")
