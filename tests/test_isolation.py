"""Every pair runs in a supervised worker: crashes, aborts, hangs and memory blow-ups become error rows.

The faulty runners (tests/faulty_runners.py) fail on the longer utterances only,
so each run must end normally with every other pair computed, the failing rows
saying what happened, and every (runner, utterance) key exactly once.
"""

from __future__ import annotations

from pathlib import Path

import faulty_runners  # noqa: F401  (registers the test-* runners here; workers import the module themselves)
import pandas as pd
import pytest
import soundfile as sf
from test_suite_run import write_suite
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app

cli = CliRunner()
LIMIT = 4
UTTERANCES = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[:LIMIT]


def durations() -> dict[str, float]:
    return {name: sf.info(str(MINI / "noisy" / name)).duration for name in UTTERANCES}


def longer_half() -> tuple[float, set[str]]:
    """A threshold between the shorter and the longer half of the utterances, and the longer half."""
    ordered = sorted(durations().items(), key=lambda item: item[1])
    threshold = (ordered[LIMIT // 2 - 1][1] + ordered[LIMIT // 2][1]) / 2
    return threshold, {name for name, seconds in ordered[LIMIT // 2 :]}


FAULTS = {
    "test-segv": "worker died: signal 11 (SIGSEGV) in runner test-segv on ",
    "test-abort": "worker died: signal 6 (SIGABRT) in runner test-abort on ",
    "test-hang": "timed out after 5 s in runner test-hang on ",
    "test-memory": "MemoryError",
}


#: the local pool with one and two workers, and an embedded Dask cluster of two single-threaded workers
EXECUTORS = {"j1": ["-j", "1"], "j2": ["-j", "2"], "dask": ["-j", "2", "--executor", "dask"]}


@pytest.mark.parametrize("executor", list(EXECUTORS))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_runner_gives_error_rows_and_the_run_goes_on(tmp_path: Path, fault: str, executor: str) -> None:
    threshold, failing = longer_half()
    runners = [{"name": "noisy"}, {"name": fault, "params": {"longer_than_s": threshold}}]
    # the time limit from the suite's timeout_s once, from --timeout otherwise
    limit = {"timeout_s": 5} if executor == "j1" else {}
    suite = write_suite(tmp_path / "s.yaml", MINI, runners, metrics=["si_sdr"], complexity=False, **limit)
    out = tmp_path / "out"
    args = ["run", str(suite), "--out", str(out), "--limit", str(LIMIT), *EXECUTORS[executor]]
    args += [] if limit else ["--timeout", "5"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "per_utterance.csv", dtype={"error": str})
    keys = list(zip(rows["runner"], rows["utterance"], strict=True))
    assert sorted(keys) == sorted((r, u) for r in ("noisy", fault) for u in UTTERANCES)  # none lost, none twice
    by_key = rows.set_index(["runner", "utterance"])
    for name in UTTERANCES:
        assert pd.isna(by_key.loc[("noisy", name), "error"]) and by_key.loc[("noisy", name), "si_sdr"] > -50
        row = by_key.loc[(fault, name)]
        if name in failing:
            assert FAULTS[fault] in row["error"] and pd.isna(row["si_sdr"]), row["error"]
            if fault != "test-memory":
                assert row["error"].endswith(name)
        else:  # a pair after a crash ran in a new worker: half the input, so the same SI-SDR as the input's
            assert pd.isna(row["error"]) and row["si_sdr"] == pytest.approx(by_key.loc[("noisy", name), "si_sdr"])
