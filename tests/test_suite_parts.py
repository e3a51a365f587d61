"""The suite's building blocks: alignment rule, statistics, resumable row file, published tables,
the enhanced-audio cache key and the thread count workers build runners with."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from scipy import stats

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.onnxrt import session_threads
from gtcrn_bench.published import published_rows
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register
from gtcrn_bench.store import resolve
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.cache import cache_key
from gtcrn_bench.suite.config import RunnerEntry, Suite
from gtcrn_bench.suite.engine import preflight_runners
from gtcrn_bench.suite.summary import confidence_interval, summarize
from gtcrn_bench.suite.worker import WorkerSetup, WorkerState


class Delayed(Runner):
    """A runner whose output lags its input by ``delay`` samples (as declared)."""

    name = "test-delayed"

    def __init__(self, delay: int) -> None:
        self.delay = delay

    def process(self, wave: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros(self.delay, np.float32), wave[: wave.size - self.delay]])


def test_align_compensates_delay_then_trims_to_common_length() -> None:
    reference = np.arange(10, dtype=np.float32)
    delayed = np.concatenate([np.zeros(3, np.float32), reference[:7]])  # a runner with 3 samples of delay
    est, ref = Delayed(3).align(delayed, reference)
    np.testing.assert_array_equal(est, reference[:7])
    np.testing.assert_array_equal(ref, reference[:7])
    np.testing.assert_array_equal(Delayed(3).align_to_input(delayed), [*reference[:7], 0, 0, 0])  # for writing
    est, ref = Delayed(0).align(reference[:8], reference)  # shorter estimate: reference trimmed
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
    summary = summarize(per_utt, ["pesq_wb"], reference="noisy").set_index("runner")
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


def test_a_row_is_kept_only_once_its_newline_was_written(tmp_path: Path) -> None:
    fields = rowfile.columns(["pesq_wb"])
    path = tmp_path / "per_utterance.csv"
    writer = rowfile.RowWriter(path, fields, [])
    writer.write({"runner": "noisy", "utterance": "a", "pesq_wb": 1.5})
    writer.close()
    with open(path, "a", newline="") as fh:
        fh.write("noisy,b,,1.0,,pesq_wb: shorter than PE")  # every field present, the error cut short by a kill
    assert [r["utterance"] for r in rowfile.read_rows(path, fields)] == ["a"]


def test_every_row_is_one_line_even_with_line_breaks_in_its_error(tmp_path: Path) -> None:
    fields = rowfile.columns(["pesq_wb"])
    path = tmp_path / "per_utterance.csv"
    writer = rowfile.RowWriter(path, fields, [])
    writer.write({"runner": "x", "utterance": "a", "error": "RuntimeError: first line\nsecond line"})
    writer.close()
    assert len(path.read_text().splitlines()) == 2
    assert rowfile.read_rows(path, fields)[0]["error"] == "RuntimeError: first line second line"


def test_a_row_file_with_other_metric_columns_is_refused_not_emptied(tmp_path: Path) -> None:
    path = tmp_path / "per_utterance.csv"
    writer = rowfile.RowWriter(path, rowfile.columns(["pesq_wb", "stoi"]), [])
    writer.write({"runner": "noisy", "utterance": "a", "pesq_wb": 1.5, "stoi": 0.9})
    writer.close()
    before = path.read_text()
    with pytest.raises(ConfigError) as caught:
        rowfile.read_rows(path, rowfile.columns(["pesq_wb", "si_sdr"]))
    message = str(caught.value)
    assert "cannot resume" in message and "only in the file: stoi" in message and "only in this run: si_sdr" in message
    assert path.read_text() == before


@register
class OnnxDefaultThreads(Runner):
    """Like DTLN: an onnxruntime session whose thread count, left at None, is onnxruntime's default (all cores)."""

    name = "test-onnx-default-threads"
    thread_param = "threads"

    def __init__(self, threads: int | None = None) -> None:
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(resolve("published-onnx")), options, providers=["CPUExecutionProvider"])

    def thread_settings(self) -> dict[str, dict[str, int]]:
        return {"session": session_threads(self.session)}

    def process(self, wave: np.ndarray) -> np.ndarray:
        return wave


def worker_state(tmp_path: Path, threads: int, **params: object) -> WorkerState:
    entries = {
        "dtln-like": RunnerEntry(name="test-onnx-default-threads"),
        "onnx": RunnerEntry(name="gtcrn-onnx", params=params),
    }
    return WorkerState(WorkerSetup(entries, metric_names=[], threads=threads))


def test_workers_build_runners_with_the_suites_thread_count(tmp_path: Path) -> None:
    state = worker_state(tmp_path, threads=2)
    assert state.runner("dtln-like").session.get_session_options().intra_op_num_threads == 2
    assert state.runner("onnx").thread_settings()["onnxruntime session"]["intra_op"] == 2
    runners = [{"name": "gtcrn-onnx"}, {"name": "test-onnx-default-threads"}]
    suite = Suite.model_validate({"name": "t", "dataset": {}, "runners": runners, "threads": 2})
    identities, _ = preflight_runners(suite, tmp_path / "t.yaml")  # metadata.json records what the workers really ran
    assert identities["gtcrn-onnx"] == state.runner("onnx").describe()
    assert identities["test-onnx-default-threads"] == state.runner("dtln-like").describe()


def test_the_audio_cache_key_ignores_thread_counts_but_not_parameters(tmp_path: Path) -> None:
    wave = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    one, two = worker_state(tmp_path, threads=1), worker_state(tmp_path, threads=2)
    threads = [state.runner("onnx").describe()["params"]["intra_threads"] for state in (one, two)]
    assert threads == [1, 2] and "intra_threads" not in one.identity("onnx")["params"]
    assert cache_key(wave, one.identity("onnx")) == cache_key(wave, two.identity("onnx"))
    other = worker_state(tmp_path, threads=1, optimization="basic")
    assert cache_key(wave, other.identity("onnx")) != cache_key(wave, one.identity("onnx"))
    assert cache_key(wave * 2, one.identity("onnx")) != cache_key(wave, one.identity("onnx"))
