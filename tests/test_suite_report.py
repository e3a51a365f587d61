"""The suite report from a results folder with known numbers: best values, published figures, latency table."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.config import validate_suite
from gtcrn_bench.suite.report import write_tables

METRICS = ["pesq_wb", "si_sdr"]
SCORES = {  # runner -> (pesq_wb, si_sdr) per utterance; noisy has the highest PESQ, but noisy is never ranked
    "noisy": ((3.9, 4.1, 4.0), (5.0, 5.5, 6.0)),
    "gtcrn-stream": ((2.4, 2.5, 2.6), (15.0, 16.0, 17.0)),
    "rnnoise": ((1.9, 2.0, 2.1), (17.0, 18.0, 19.0)),
}
LATENCY = {
    "gtcrn-stream": {
        "kind": "frame", "timed": "step(spectrum): the model call", "hop_ms": 16.0, "threads": 1,
        "mean_ms": 1.25, "p50_ms": 1.2, "p95_ms": 1.5, "p99_ms": 1.75, "max_ms": 2.5, "rtf": 0.078125,
        "step_timed": "process_hop: STFT + model + ISTFT", "step_rtf": 0.1, "streams_per_core": 10,
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder as `gtcrn-bench run` leaves it, with chosen numbers; the report written from it."""
    out = tmp_path_factory.mktemp("results")
    writer = rowfile.RowWriter(out / "per_utterance.csv", rowfile.columns(METRICS), [])
    for runner, (pesq, si_sdr) in SCORES.items():
        for i, name in enumerate(("a.wav", "b.wav", "c.wav")):
            writer.write({"runner": runner, "utterance": name, "pesq_wb": pesq[i], "si_sdr": si_sdr[i]})
    writer.close()
    complexity = {
        "gtcrn-stream": {"kind": "measured", "params_total": 48245, "macs_per_second": 27.83e6},
        "rnnoise": {
            "kind": "published",
            "source": "GTCRN README table 1",
            "params_total": 60e3,
            "macs_per_second": 4e7,
        },
    }
    (out / "complexity.json").write_text(json.dumps(complexity))
    (out / "latency.json").write_text(json.dumps(LATENCY))
    suite = validate_suite(
        {
            "name": "known",
            "dataset": {"root": "/data", "published": "vctk-demand"},
            "runners": [{"name": name} for name in SCORES],
        },
        out / "metadata.json",
    )
    write_tables(out, suite, METRICS, Console(file=io.StringIO()))
    return out


def markdown_row(report: str, system: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {system} |"))
    return [cell.strip() for cell in line.strip("|").split("|")][1:]


def html_cells(page: str, system: str) -> list[tuple[str, str]]:
    """(class, text) of each value cell in the HTML row of ``system``."""
    row = re.search(rf"<tr class=\"[a-z]+\" title=\"[^\"]*\"><th>{re.escape(system)}</th>(.*?)</tr>", page)
    assert row, system
    return re.findall(r'<td class="([a-z]*)" data-v="[^"]*" title="[^"]*">([^<]*)</td>', row.group(1))


def test_markdown_bolds_the_best_measured_value_of_each_column(results: Path) -> None:
    report = (results / "report.md").read_text()
    assert "| system | pesq_wb ↑ | si_sdr ↑ | params ↓ | MMACs/s ↓ | RTF ↓ |" in report
    gtcrn, rnnoise = markdown_row(report, "gtcrn-stream"), markdown_row(report, "rnnoise")
    assert gtcrn[0].startswith("**2.500 ±") and not gtcrn[1].startswith("**")
    assert rnnoise[1].startswith("**18.000 ±") and not rnnoise[0].startswith("**")
    assert gtcrn[2:] == ["**48.2 K**", "**27.83**", "**0.0781**"]  # fewer parameters and MACs: best
    assert not any(cell.startswith("**") for cell in markdown_row(report, "noisy"))  # the reference, not ranked
    assert not any(cell.startswith("**") for cell in markdown_row(report, "*published:* GTCRN"))


def test_published_complexity_on_a_measured_row_is_marked_published(results: Path) -> None:
    rnnoise = markdown_row((results / "report.md").read_text(), "rnnoise")
    assert rnnoise[2:4] == ["60.0 K (published)", "40.00 (published)"]
    cells = html_cells((results / "report.html").read_text(), "rnnoise")
    assert ("", "60.0 K (published)") in cells and ("", "40.00 (published)") in cells


def test_html_marks_the_same_best_cells(results: Path) -> None:
    page = (results / "report.html").read_text()
    assert "td.best {" in page  # the class is styled
    gtcrn = html_cells(page, "gtcrn-stream")
    assert [css for css, _ in gtcrn] == ["best", "", "best", "best", "best"]
    assert [css for css, _ in html_cells(page, "rnnoise")] == ["", "best", "", "", ""]
    assert all(css == "" for css, _ in html_cells(page, "noisy"))
    assert '<span class="tag">published</span> GTCRN</th>' in page


def test_the_latency_table_has_one_row_per_timed_runner(results: Path) -> None:
    report = (results / "report.md").read_text()
    assert "## Latency per runner" in report
    assert (
        "| gtcrn-stream | step(spectrum): the model call | 16.0 | 1.250 | 1.200 | 1.500 | 1.750 | 2.500 | 0.0781 "
        "| process_hop: STFT + model + ISTFT | 0.1000 | 10 | 1 |"
    ) in report
    page = (results / "report.html").read_text()
    latency = re.search(r'<table class="latency">(.*?)</table>', page)
    assert latency and latency.group(1).count("<tr>") == 2  # header and gtcrn-stream
    assert "<th>gtcrn-stream</th><td>step(spectrum): the model call</td><td>16.0</td>" in latency.group(1)


def test_summary_csv_is_written_from_the_rows(results: Path) -> None:
    summary = pd.read_csv(results / "summary.csv").set_index(["runner", "metric"])
    assert summary.loc[("rnnoise", "si_sdr"), "mean"] == pytest.approx(18.0)
    assert summary.loc[("gtcrn-stream", "pesq_wb"), "improvement_over_noisy"] == pytest.approx(-1.5)
