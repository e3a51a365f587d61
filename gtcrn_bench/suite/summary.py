"""summary.csv: per runner and metric, the mean, standard deviation, 95% confidence interval and improvement.

The interval is Student's t over utterances (mean ± t(0.975, n-1) · s / sqrt(n)).
The improvement over the reference row (the suite's unprocessed input, ``noisy``) is
paired: the mean of per-utterance differences on the utterances both runners scored,
so a skipped utterance cannot bias it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

SUMMARY_COLUMNS = ["runner", "metric", "n", "mean", "std", "ci95_low", "ci95_high", "improvement_over_noisy"]


def confidence_interval(values: np.ndarray) -> tuple[float, float]:
    """Two-sided 95% Student-t interval of the mean (NaN with fewer than two values)."""
    n = values.size
    if n < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n)
    mean = values.mean()
    return float(mean - half), float(mean + half)


def numeric(df: pd.DataFrame, metric: str) -> pd.Series:
    """A metric column as floats indexed by utterance (empty cells dropped)."""
    return pd.to_numeric(df.set_index("utterance")[metric], errors="coerce").dropna()


def summarize(per_utterance: pd.DataFrame, metric_names: list[str], reference: str | None) -> pd.DataFrame:
    """The long-format summary table (one row per runner and metric); improvements are over runner ``reference``."""
    out = []
    runners = list(dict.fromkeys(per_utterance["runner"]))
    by_runner = {r: per_utterance[per_utterance["runner"] == r] for r in runners}
    for runner in runners:
        for metric in metric_names:
            values = numeric(by_runner[runner], metric)
            arr = values.to_numpy(dtype=float)
            low, high = confidence_interval(arr)
            improvement = math.nan
            if reference in by_runner and runner != reference:
                base = numeric(by_runner[reference], metric)
                common = values.index.intersection(base.index)
                if len(common):
                    improvement = float((values[common] - base[common]).mean())
            out.append(
                {
                    "runner": runner,
                    "metric": metric,
                    "n": arr.size,
                    "mean": float(arr.mean()) if arr.size else math.nan,
                    "std": float(arr.std(ddof=1)) if arr.size > 1 else math.nan,
                    "ci95_low": low,
                    "ci95_high": high,
                    "improvement_over_noisy": improvement,
                }
            )
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)
