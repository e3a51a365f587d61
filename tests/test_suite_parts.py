"""The suite's building blocks: alignment rule, statistics, resumable row file, published tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gtcrn_bench.baselines import published_rows
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.align import align
from gtcrn_bench.suite.summary import confidence_interval, summarize


def test_align_compensates_delay_then_trims_to_common_length() -> None:
    reference = np.arange(10, dtype=np.float32)
    delayed = np.concatenate([np.zeros(3, np.float32), reference[:7]])  # a runner with 3 samples of delay
    est, ref = align(delayed, reference, delay=3)
    np.testing.assert_array_equal(est, reference[:7])
    np.testing.assert_array_equal(ref, reference[:7])
    est, ref = align(reference[:8], reference, delay=0)  # shorter estimate: reference trimmed
    assert est.size == ref.size == 8


def test_confidence_interval_is_student_t() -> None:
    values = np.array([1.0, 2.0, 4.0, 7.0])
    low, high = confidence_interval(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert (low, high) == pytest.approx((3.5 - half, 3.5 + half))
    assert all(math.isnan(v) for v in confidence_interval(np.array([1.0])))


def test_improvement_over_noisy_is_paired() -> None:
    per_utt = pd.DataFrame(
        {
            "runner": ["noisy", "noisy", "noisy", "model", "model"],
            "utterance": ["a", "b", "c", "a", "b"],
            "pesq_wb": [1.0, 2.0, 9.0, 1.5, 3.0],  # model skipped c, whose noisy score is extreme
        }
    )
    summary = summarize(per_utt, ["pesq_wb"]).set_index("runner")
    assert summary.loc["model", "improvement_over_noisy"] == pytest.approx(0.75)  # (0.5 + 1.0) / 2
    assert summary.loc["model", "n"] == 2
    assert math.isnan(summary.loc["noisy", "improvement_over_noisy"])


def test_row_file_survives_a_truncated_last_line(tmp_path: Path) -> None:
    fields = rowfile.columns(["pesq_wb"])
    path = tmp_path / "per_utterance.csv"
    writer = rowfile.RowWriter(path, fields, [])
    writer.write({"runner": "noisy", "utterance": "a", "pesq_wb": 1.5, "error": None})
    writer.close()
    with open(path, "a") as fh:
        fh.write("noisy,b,2.")  # a run killed mid-write
    kept = rowfile.read_rows(path, fields)
    assert [(r["runner"], r["utterance"]) for r in kept] == [("noisy", "a")]
    writer = rowfile.RowWriter(path, fields, kept)
    writer.write({"runner": "noisy", "utterance": "b", "pesq_wb": 2.0})
    writer.close()
    assert pd.read_csv(path)["utterance"].tolist() == ["a", "b"]


def test_published_tables_are_readable() -> None:
    rows = published_rows("vctk-demand")
    gtcrn = next(r for r in rows if r["system"] == "GTCRN")
    assert (gtcrn["pesq_wb"], gtcrn["stoi"], gtcrn["si_sdr"]) == (2.87, 0.940, 18.83)
    noisy = next(r for r in rows if r["system"] == "Noisy")
    assert (noisy["pesq_wb"], noisy["stoi"], noisy["si_sdr"]) == (1.97, 0.921, 8.45)
    with pytest.raises(ConfigError, match="known: vctk-demand"):
        published_rows("nope")
