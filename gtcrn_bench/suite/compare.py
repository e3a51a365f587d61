"""Differences between two runs' summary.csv: which means moved, and by more than their uncertainty."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gtcrn_bench.errors import ConfigError


def read_summary(run_dir: Path) -> pd.DataFrame:
    """A run's summary.csv (a clear error when the folder is not a results folder)."""
    path = run_dir / "summary.csv"
    if not path.exists():
        raise ConfigError(f"{run_dir}: no summary.csv (is it a results folder of `gtcrn-bench run`?)")
    return pd.read_csv(path)


def compare_runs(this: Path, other: Path) -> pd.DataFrame:
    """Per runner and metric present in both: both means, the difference, and whether the 95% CIs overlap."""
    a, b = read_summary(this), read_summary(other)
    merged = a.merge(b, on=["runner", "metric"], suffixes=("", "_other"))
    merged["delta"] = merged["mean"] - merged["mean_other"]
    overlap = (merged["ci95_low"] <= merged["ci95_high_other"]) & (merged["ci95_low_other"] <= merged["ci95_high"])
    merged["significant"] = ~overlap & merged["ci95_low"].notna() & merged["ci95_low_other"].notna()
    return merged[["runner", "metric", "mean", "mean_other", "delta", "significant"]]
