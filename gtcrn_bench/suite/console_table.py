"""The comparison table as the console shows it at the end of a run: the main measures, readable at 80 columns.

report.md has every measure with its interval; the console gets short headers
(explained in a legend under the table), compact complexity figures marked
``*`` when they are published rather than counted, and, when the terminal is
still too narrow, the quality and the cost columns as two tables. Runner names
are never cut: they are what the user looks for.
"""

from __future__ import annotations

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from gtcrn_bench.suite.tables import EXTRA_COLUMNS, MAIN_METRICS, format_value, higher_is_better

#: column -> short console header (the legend names the metric)
SHORT_TITLES = {
    "pesq_wb": "PESQ",
    "stoi": "STOI",
    "si_sdr": "SI-SDR",
    "dnsmos_ovrl": "OVRL",
    "params": "params",
    "mmacs_per_s": "MMAC/s",
    "rtf": "RTF",
}
LEGEND = {"PESQ": "pesq_wb", "OVRL": "dnsmos_ovrl", "MMAC/s": "MMACs per second of audio"}
COMPLEXITY_COLUMNS = ("params", "mmacs_per_s")
PUBLISHED_MARK = "*"


def compact(column: str, value: object) -> str:
    """A cell: as in report.md, except parameters as ``48.2K`` / ``1.80M`` (no thousands separator to wrap)."""
    if column == "params" and isinstance(value, float | int) and value == value:
        return f"{value / 1e6:.2f}M" if value >= 1e6 else f"{value / 1e3:.1f}K"
    return format_value(column, value)


def cell(table: pd.DataFrame, idx: int, column: str) -> str:
    """A cell, with :data:`PUBLISHED_MARK` on complexity figures taken from the literature rather than counted."""
    text = compact(column, table.at[idx, column])
    if text and column in COMPLEXITY_COLUMNS:  # counted figures padded, so the digits stay aligned
        return text + (PUBLISHED_MARK if table.at[idx, "complexity_kind"] == "published" else " ")
    return text


def build(table: pd.DataFrame, columns: list[str], title: str | None) -> Table:
    """One rich table of the measured rows: no vertical borders, nothing wrapped, names whole."""
    rows = table.index[table["kind"] == "measured"]
    names = [str(table.at[i, "system"]) for i in rows]
    view = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    view.add_column("runner", no_wrap=True, min_width=max(map(len, names), default=6))
    for column in columns:
        arrow = "↑" if higher_is_better(column) else "↓"
        view.add_column(f"{SHORT_TITLES.get(column, column)} {arrow}", justify="right", no_wrap=True)
    for idx, name in zip(rows, names, strict=True):
        view.add_row(escape(name), *(cell(table, idx, c) for c in columns))
    return view


def legend(columns: list[str], table: pd.DataFrame) -> str:
    """What the short headers and marks mean, for the columns shown."""
    titles = {SHORT_TITLES.get(c, c) for c in columns}
    parts = [f"{short} = {long}" for short, long in LEGEND.items() if short in titles]
    measured = table[table["kind"] == "measured"]
    if any(c in COMPLEXITY_COLUMNS for c in columns) and (measured["complexity_kind"] == "published").any():
        parts.append(f"{PUBLISHED_MARK} published figure, not counted here")
    parts.append("all measures with 95% intervals: report.md")
    return "; ".join(parts)


def print_comparison(console: Console, table: pd.DataFrame, columns: list[str]) -> None:
    """The main measures per measured runner; split in two tables when one does not fit the console."""
    shown = [c for c in columns if c in MAIN_METRICS or c in EXTRA_COLUMNS]
    title = "means over utterances"
    whole = build(table, shown, title)
    natural = Measurement.get(console, console.options.update_width(10_000), whole).maximum  # unclamped width
    if natural <= console.width:
        console.print(whole)
    else:
        quality = [c for c in shown if c not in EXTRA_COLUMNS]
        cost = [c for c in shown if c in EXTRA_COLUMNS]
        console.print(build(table, quality, f"{title}: quality"))
        if cost:
            console.print(build(table, cost, "cost"))
    console.print(legend(shown, table), style="dim", highlight=False)
