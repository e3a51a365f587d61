"""Report figures (matplotlib, written as PNG): metric bars with CIs, quality vs compute, latency histograms."""

from __future__ import annotations

import math
from pathlib import Path

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


def quality_vs_compute(table: pd.DataFrame, path: Path, metric: str = "pesq_wb") -> Path | None:
    """PESQ against MMACs/s (log scale), one point per system; published points hollow."""
    if metric not in table:
        return None
    rows = table[table[metric].notna() & table["mmacs_per_s"].notna() & (table["mmacs_per_s"] > 0)]
    if rows.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for kind, marker, face in (("measured", "o", "#4c72b0"), ("published", "s", "none")):
        part = rows[rows["kind"] == kind]
        ax.scatter(part["mmacs_per_s"], part[metric], marker=marker, s=60, facecolors=face, edgecolors="#4c72b0")
        for _, r in part.iterrows():
            ax.annotate(
                r["system"], (r["mmacs_per_s"], r[metric]), xytext=(5, 4), textcoords="offset points", fontsize=8
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("MMACs per second of audio (log)")
    ax.set_ylabel(metric)
    ax.set_title("quality vs compute (filled: measured here, hollow: published)")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_histograms(frames_ms: dict[str, np.ndarray], path: Path, hop_ms: float = 16.0) -> Path | None:
    """Per-frame latency histogram of each timed runner, with the 16 ms real-time budget marked."""
    if not frames_ms:
        return None
    n = len(frames_ms)
    cols = min(n, 3)
    fig, axes = plt.subplots(math.ceil(n / cols), cols, figsize=(4.2 * cols, 3.2 * math.ceil(n / cols)), squeeze=False)
    for ax, (name, values) in zip(axes.flat, frames_ms.items(), strict=False):
        upper = np.percentile(values, 99.5)
        ax.hist(values[values <= upper], bins=60, color="#55a868")
        ax.axvline(values.mean(), color="k", linestyle="--", linewidth=1, label=f"mean {values.mean():.3f} ms")
        ax.set_title(f"{name} (RTF {values.mean() / hop_ms:.3f})", fontsize=9)
        ax.set_xlabel("ms per frame")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
