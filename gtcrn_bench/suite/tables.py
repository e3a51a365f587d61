"""The comparison table: one row per system (measured runners, then published figures), one column per measure.

Both report.md and report.html render this one DataFrame. Measured quality
columns are means over utterances with a ``<metric>_ci`` half-width column;
complexity and latency come from complexity.json and latency.json when the run
wrote them. The best value of each column is taken over measured rows other
than ``noisy`` (published rows come from another test set, so they are shown,
not ranked).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from gtcrn_bench import metrics
from gtcrn_bench.published import published_rows

EXTRA_COLUMNS = {  # column -> (title, higher is better, digits)
    "params": ("params", False, 0),
    "mmacs_per_s": ("MMACs/s", False, 2),
    "rtf": ("RTF", False, 4),
}
MAIN_METRICS = ("pesq_wb", "stoi", "si_sdr", "dnsmos_ovrl")
#: the latency table: latency.json key -> (column title, decimals; None: text)
LATENCY_COLUMNS = {
    "timed": ("what is timed", None),
    "hop_ms": ("hop (ms)", 1),
    "mean_ms": ("mean (ms)", 3),
    "p50_ms": ("p50 (ms)", 3),
    "p95_ms": ("p95 (ms)", 3),
    "p99_ms": ("p99 (ms)", 3),
    "max_ms": ("max (ms)", 3),
    "rtf": ("RTF", 4),
    "step_timed": ("whole step", None),
    "step_rtf": ("whole-step RTF", 4),
    "streams_per_core": ("streams per core", 0),
    "threads": ("threads", 0),
}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON side file of the run, or {} when the run did not produce it."""
    return json.loads(path.read_text()) if path.exists() else {}


def _measured_rows(
    summary: pd.DataFrame, metric_names: list[str], out_dir: Path, reference: str | None
) -> list[dict[str, Any]]:
    complexity = read_json(out_dir / "complexity.json")
    latency = read_json(out_dir / "latency.json")
    rows = []
    for runner, group in summary.groupby("runner", sort=False):
        stats = group.set_index("metric")
        row: dict[str, Any] = {"system": runner, "kind": "measured", "source": "", "reference": runner == reference}
        for m in metric_names:
            row[m] = stats.loc[m, "mean"]
            low, high = stats.loc[m, "ci95_low"], stats.loc[m, "ci95_high"]
            row[f"{m}_ci"] = (high - low) / 2 if not math.isnan(high) else math.nan
        cx = complexity.get(runner) or {}
        row["params"] = cx.get("params_total", math.nan)
        row["mmacs_per_s"] = cx["macs_per_second"] / 1e6 if cx.get("macs_per_second") is not None else math.nan
        row["complexity_kind"] = cx.get("kind", "")
        row["rtf"] = (latency.get(runner) or {}).get("rtf", math.nan)
        rows.append(row)
    return rows


def _published_rows(dataset: str | None, metric_names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for pub in published_rows(dataset):
        row: dict[str, Any] = {"system": pub["system"], "kind": "published", "source": pub.get("source", "")}
        row["reference"] = False
        row.update({m: pub.get(m, math.nan) for m in metric_names})
        row["params"] = pub["params_m"] * 1e6 if "params_m" in pub else math.nan
        row["mmacs_per_s"] = pub["gmacs_per_s"] * 1e3 if "gmacs_per_s" in pub else math.nan
        row["rtf"] = math.nan
        rows.append(row)
    return rows


def comparison_table(
    summary: pd.DataFrame, metric_names: list[str], out_dir: Path, published: str | None, reference: str | None
) -> pd.DataFrame:
    """Measured rows followed by the published ones for the suite's dataset; ``reference`` marks the input's row."""
    rows = _measured_rows(summary, metric_names, out_dir, reference) + _published_rows(published, metric_names)
    return pd.DataFrame(rows)


def higher_is_better(column: str) -> bool:
    """Direction of a table column (metric or extra)."""
    if column in EXTRA_COLUMNS:
        return EXTRA_COLUMNS[column][1]
    return metrics.get(column).higher_is_better


def digits(column: str) -> int:
    """Decimals a column is shown with."""
    return EXTRA_COLUMNS[column][2] if column in EXTRA_COLUMNS else 3


def best_rows(table: pd.DataFrame, column: str) -> set[int]:
    """Indices of the best measured value(s) of a column but the reference row's, ties judged as displayed."""
    values = table[(table["kind"] == "measured") & ~table["reference"].astype(bool)][column].astype(float).dropna()
    if values.empty:
        return set()
    shown = values.round(digits(column) + (-3 if column == "params" else 0))
    best = shown.max() if higher_is_better(column) else shown.min()
    return set(shown.index[shown == best])


def present_columns(table: pd.DataFrame, metric_names: list[str]) -> list[str]:
    """Metric and extra columns that have at least one value."""
    wanted = [*metric_names, *EXTRA_COLUMNS]
    return [c for c in wanted if c in table and table[c].astype(float).notna().any()]


def format_value(column: str, value: Any) -> str:
    """A table cell: fixed digits per kind of column, params in thousands, empty for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "params":
        return f"{value / 1e3:,.1f} K"
    return f"{value:.{digits(column)}f}"


def column_title(column: str) -> str:
    """Header text with the direction arrow."""
    title = EXTRA_COLUMNS[column][0] if column in EXTRA_COLUMNS else column
    return f"{title} {'↑' if higher_is_better(column) else '↓'}"


def latency_cell(key: str, value: Any) -> str:
    """One cell of the latency table: text as is, numbers with the column's decimals, empty when absent."""
    decimals = LATENCY_COLUMNS[key][1]
    if value is None:
        return ""
    return str(value) if decimals is None else f"{float(value):.{decimals}f}"


def latency_table(out_dir: Path) -> list[tuple[str, list[str]]]:
    """(runner, cells in :data:`LATENCY_COLUMNS` order) per timed runner of latency.json; [] when not timed.

    RTF is the mean model-call time over the runner's own hop (an offline
    runner's "hop" is the whole file); the whole-step RTF times the full
    ``process_hop`` (STFT, resampling, ...); streams per core is hop / (whole-step mean x threads).
    """
    latency = read_json(out_dir / "latency.json")
    return [(key, [latency_cell(k, entry.get(k)) for k in LATENCY_COLUMNS]) for key, entry in latency.items()]
