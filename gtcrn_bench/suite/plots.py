"""Report figures (matplotlib, written as PNG): metric bars with CIs, quality vs compute, latency histograms."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from gtcrn_bench.suite.tables import MAIN_METRICS


def metric_bars(table: pd.DataFrame, path: Path) -> Path | None:
    """One bar chart per main metric, measured systems, 95% CI error bars."""
    measured = table[table["kind"] == "measured"]
    shown = [m for m in MAIN_METRICS if m in measured and measured[m].notna().any()]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], shown, strict=True):
        ci = measured.get(f"{metric}_ci", pd.Series(np.nan, index=measured.index)).fillna(0)
        ax.bar(measured["system"], measured[metric], yerr=ci, capsize=4, color="#4c72b0")
        ax.set_title(metric)
        ax.tick_params(axis="x", rotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _point_kind(row: pd.Series) -> str:
    """measured, published, or measured quality with published compute (a literature figure on our row)."""
    if row["kind"] == "published":
        return "published"
    return "mixed" if row.get("complexity_kind") == "published" else "measured"


POINT_STYLES = {  # kind -> (marker, face colour, legend)
    "measured": ("o", "#4c72b0", "measured here"),
    "mixed": ("D", "#a6bddb", "quality measured, compute published"),
    "published": ("s", "none", "published"),
}


def _label_points(ax: plt.Axes, groups: Any) -> None:
    """One label per point (systems at the same point joined), nudged down when it would overlap an earlier one."""
    placed: list[tuple[float, float]] = []
    for (x, y), group in groups:
        px, py = ax.transData.transform((x, y))
        dy = 4.0
        while any(abs(px - qx) < 140 and abs(py + dy - qy) < 11 for qx, qy in placed):
            dy -= 11
        placed.append((px, py + dy))
        ax.annotate(", ".join(group["system"]), (x, y), xytext=(5, dy), textcoords="offset points", fontsize=8)


def quality_vs_compute(table: pd.DataFrame, path: Path, metric: str = "pesq_wb") -> Path | None:
    """PESQ against MMACs/s (log scale), one point per system; systems at the same point share one label."""
    if metric not in table:
        return None
    rows = table[table[metric].notna() & table["mmacs_per_s"].notna() & (table["mmacs_per_s"] > 0)].copy()
    if rows.empty:
        return None
    rows["point_kind"] = rows.apply(_point_kind, axis=1)
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for kind, (marker, face, legend) in POINT_STYLES.items():
        part = rows[rows["point_kind"] == kind]
        if len(part):
            ax.scatter(
                part["mmacs_per_s"],
                part[metric],
                marker=marker,
                s=60,
                facecolors=face,
                edgecolors="#4c72b0",
                label=legend,
            )
    ax.set_xscale("log")
    _label_points(ax, rows.groupby([rows["mmacs_per_s"].round(2), rows[metric].round(3)]))
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("MMACs per second of audio (log)")
    ax.set_ylabel(metric)
    ax.set_title("quality vs compute")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_histograms(frames_ms: dict[str, np.ndarray], hop_ms: dict[str, float], path: Path) -> Path | None:
    """Per-frame latency histogram of each timed runner; the title's RTF is relative to that runner's own hop."""
    if not frames_ms:
        return None
    n = len(frames_ms)
    cols = min(n, 3)
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(4.2 * cols, 3.2 * math.ceil(n / cols)), squeeze=False)
    for ax, (name, values) in zip(axes.flat, frames_ms.items(), strict=False):
        upper = np.percentile(values, 99.5)
        ax.hist(values[values <= upper], bins=60, color="#55a868")
        ax.axvline(values.mean(), color="k", linestyle="--", linewidth=1, label=f"mean {values.mean():.3f} ms")
        ax.set_title(f"{name} (RTF {values.mean() / hop_ms[name]:.3f}, hop {hop_ms[name]:g} ms)", fontsize=9)
        ax.set_xlabel("ms per frame")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
