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


#: the per-pair limit: far above what a healthy pair of these cheap runners takes even on a loaded machine
TIMEOUT_S = 10
FAULTS = {
    "test-segv": "worker died: signal 11 (SIGSEGV) in runner test-segv on ",
    "test-abort": "worker died: signal 6 (SIGABRT) in runner test-abort on ",
    "test-hang": f"timed out after {TIMEOUT_S} s in runner test-hang on ",
    "test-memory": "MemoryError",
}


#: the local pool with one and two workers, and an embedded Dask cluster of two single-threaded workers
EXECUTORS = {"j1": ["-j", "1"], "j2": ["-j", "2"], "dask": ["-j", "2", "--executor", "dask"]}


@pytest.mark.parametrize("executor", list(EXECUTORS))
def test_failing_runners_give_error_rows_and_the_run_goes_on(tmp_path: Path, executor: str) -> None:
    """Every fault in one run (beside the noisy input), so each executor meets each fault and its neighbours."""
    threshold, failing = longer_half()
    runners = [{"name": "noisy"}, *({"name": fault, "params": {"longer_than_s": threshold}} for fault in FAULTS)]
    # the time limit from the suite's timeout_s once, from --timeout otherwise
    limit = {"timeout_s": TIMEOUT_S} if executor == "j1" else {}
    suite = write_suite(tmp_path / "s.yaml", MINI, runners, metrics=["si_sdr"], complexity=False, **limit)
    out = tmp_path / "out"
    args = ["run", str(suite), "--out", str(out), "--limit", str(LIMIT), *EXECUTORS[executor]]
    args += [] if limit else ["--timeout", str(TIMEOUT_S)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "per_utterance.csv", dtype={"error": str})
    keys = list(zip(rows["runner"], rows["utterance"], strict=True))
    assert sorted(keys) == sorted((r["name"], u) for r in runners for u in UTTERANCES)  # none lost, none twice
    by_key = rows.set_index(["runner", "utterance"])
    for name in UTTERANCES:
        noisy = by_key.loc[("noisy", name)]
        assert pd.isna(noisy["error"]) and noisy["si_sdr"] > -50
        for fault, message in FAULTS.items():
            row = by_key.loc[(fault, name)]
            if name in failing:
                assert message in row["error"] and pd.isna(row["si_sdr"]), (fault, row["error"])
                if fault != "test-memory":
                    assert row["error"].endswith(name)
            else:  # pairs after a crash ran in a new worker: half the input, so the input's SI-SDR
                assert pd.isna(row["error"]) and row["si_sdr"] == pytest.approx(noisy["si_sdr"]), (fault, name)
