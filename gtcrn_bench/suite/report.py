"""summary.csv, report.md and a self-contained report.html from the files of a results folder.

Everything is derived from per_utterance.csv (plus complexity.json, latency.json
and latency_frames.npz when present), so ``gtcrn-bench report DIR`` can rebuild
a report at any time.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gtcrn_bench.suite import listen, plots
from gtcrn_bench.suite.compare import compare_runs
from gtcrn_bench.suite.config import ListenConfig, Suite, validate_suite
from gtcrn_bench.suite.page import SCRIPT, STYLE, compare_section, listening_section, per_utterance_table
from gtcrn_bench.suite.summary import summarize
from gtcrn_bench.suite.tables import (
    EXTRA_COLUMNS,
    LATENCY_COLUMNS,
    MAIN_METRICS,
    best_rows,
    column_title,
    comparison_table,
    format_value,
    latency_table,
    present_columns,
    read_json,
)

NOTE = (
    "Measured values are means over utterances, ± the half-width of the 95% confidence interval. "
    "Rows marked *published* are the papers' figures (`baselines/published.yaml`) on their own test sets: "
    "shown for reference, not measured here. Best measured value per column (noisy excluded) in bold."
)


COMPLEXITY_COLUMNS = ("params", "mmacs_per_s")
LATENCY_TITLE = "Latency per runner"
LATENCY_NOTE = (
    "Timed per frame in the main process after the quality rows, every runner interleaved with the others. "
    "RTF: mean model-call time over the runner's own hop (offline runners: the whole file); whole-step RTF: "
    "the full frame step (STFT, resampling, ...); streams per core: hop / (whole-step mean x threads), an upper bound."
)
LatencyRows = list[tuple[str, list[str]]]
HOW_TO_READ = "Click a column title to sort; hover a value for its 95% interval."
SIZE_PLACEHOLDER = "@@REPORT-SIZE@@"
#: the size budget of report.html plus listen/ for the default selection (12 utterances) and 10 systems:
#: 12 x 12 players (clean, noisy, 10 outputs) of VoiceBank-length audio (about 3 s) as 16-bit FLAC
#: (about 30 kB/s) and a palette PNG spectrogram each; embedded (--self-contained), base64 adds a third
LISTEN_BUDGET_MB = 20.0


def _cell(table: pd.DataFrame, idx: int, column: str) -> str:
    text = format_value(column, table.at[idx, column])
    published = table.at[idx, "kind"] == "measured" and table.at[idx, "complexity_kind"] == "published"
    if text and column in COMPLEXITY_COLUMNS and published:
        return text + " (published)"  # a figure from the literature on a measured row: say so
    ci = table.at[idx, f"{column}_ci"] if f"{column}_ci" in table else float("nan")
    if text and not np.isnan(ci):
        text += f" ± {format_value(column, ci)}"
    return text


def _system_label(table: pd.DataFrame, idx: int) -> str:
    name = table.at[idx, "system"]
    return f"*published:* {name}" if table.at[idx, "kind"] == "published" else name


def markdown_comparison(table: pd.DataFrame, columns: list[str]) -> str:
    """The comparison table in markdown, best values bold."""
    best = {c: best_rows(table, c) for c in columns}
    lines = ["| system | " + " | ".join(column_title(c) for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for idx in table.index:
        cells = [f"**{_cell(table, idx, c)}**" if idx in best[c] else _cell(table, idx, c) for c in columns]
        lines.append(f"| {_system_label(table, idx)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_latency(rows: LatencyRows) -> str:
    """The latency table in markdown (empty when the run timed nothing)."""
    if not rows:
        return ""
    titles = [title for title, _ in LATENCY_COLUMNS.values()]
    lines = [
        f"## {LATENCY_TITLE}",
        "",
        LATENCY_NOTE,
        "",
        "| runner | " + " | ".join(titles) + " |",
        "|---" * (len(titles) + 1) + "|",
    ]
    lines += [f"| {key} | " + " | ".join(c.replace("|", "/") for c in cells) + " |" for key, cells in rows]
    return "\n".join(lines)


def html_latency(rows: LatencyRows) -> str:
    """The latency table in HTML (empty when the run timed nothing)."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(title)}</th>" for title, _ in LATENCY_COLUMNS.values())
    body = "".join(
        f"<tr><th>{html.escape(key)}</th>{''.join(f'<td>{html.escape(c)}</td>' for c in cells)}</tr>"
        for key, cells in rows
    )
    return (
        f'<h2>{LATENCY_TITLE}</h2><p>{html.escape(LATENCY_NOTE)}</p><table class="latency">'
        f"<tr><th>runner</th>{head}</tr>{body}</table>"
    )


def _errors(per_utt: pd.DataFrame) -> pd.DataFrame:
    return per_utt[per_utt["error"].fillna("") != ""]


@dataclass(frozen=True)
class HtmlExtras:
    """The optional sections of report.html, rendered beforehand: listening, run comparison."""

    listen: str = ""
    compare: str = ""
    listened: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReportOptions:
    """``gtcrn-bench report`` choices: listening selection (None: the suite's), embedding, another run."""

    listen_count: int | None = None
    pick: str | None = None
    self_contained: bool = False
    compare: Path | None = None


@dataclass(frozen=True)
class ReportContent:
    """What both renderings of the report show: the suite, its rows, the comparison table, figures, latency."""

    suite: Suite
    per_utt: pd.DataFrame
    table: pd.DataFrame
    columns: list[str]
    figures: list[Path]
    latency: LatencyRows


def render_markdown(content: ReportContent) -> str:
    """report.md."""
    suite, per_utt, table, columns = content.suite, content.per_utt, content.table, content.columns
    figures, latency = content.figures, content.latency
    parts = [
        f"# {suite.name}",
        suite.description,
        f"{per_utt['utterance'].nunique()} utterances, {per_utt['runner'].nunique()} runners. {NOTE}",
        markdown_comparison(table, columns),
        markdown_latency(latency),
    ]
    parts += [f"![{f.stem}]({f.name})" for f in figures]
    errors = _errors(per_utt)
    if len(errors):
        listed = [
            f"| {r.runner} | {r.utterance} | {str(r.error).replace('|', '/')} |" for r in errors.head(50).itertuples()
        ]
        more = [f"\n… and {len(errors) - 50} more in per_utterance.csv"] if len(errors) > 50 else []
        parts += [
            f"## Skipped or partial rows ({len(errors)})",
            "\n".join(["| runner | utterance | reason |", "|---|---|---|", *listed, *more]),
        ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"></figure>'


def _comparison_html(table: pd.DataFrame, columns: list[str]) -> str:
    """The comparison table: sortable, best cells marked, each mean's 95% interval on hover."""
    best = {c: best_rows(table, c) for c in columns}
    head = "".join(f"<th>{html.escape(column_title(c))}</th>" for c in columns)
    body = []
    for idx in table.index:
        kind = table.at[idx, "kind"]
        cells = []
        for c in columns:
            value, ci = table.at[idx, c], table.at[idx, f"{c}_ci"] if f"{c}_ci" in table else float("nan")
            hint = f' title="95% CI [{value - ci:.4g}, {value + ci:.4g}]"' if not np.isnan(ci) else ""
            number = "" if pd.isna(value) else f"{float(value):.6g}"
            klass = "best" if idx in best[c] else ""
            cells.append(f'<td class="{klass}" data-v="{number}"{hint}>{html.escape(_cell(table, idx, c))}</td>')
        title = html.escape(str(table.at[idx, "source"] or ""))
        name = html.escape(str(table.at[idx, "system"]))
        label = f'<span class="tag">published</span> {name}' if kind == "published" else name
        body.append(f'<tr class="{kind}" title="{title}"><th>{label}</th>{"".join(cells)}</tr>')
    return (
        f'<table class="sortable" id="comparison"><thead><tr><th>system</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def render_html(content: ReportContent, extras: HtmlExtras | None = None) -> str:
    """report.html: the tables, figures embedded as data URIs, and the listening and comparison sections."""
    suite, per_utt, table, columns = content.suite, content.per_utt, content.table, content.columns
    figures, latency = content.figures, content.latency
    extras = extras or HtmlExtras()
    errors = _errors(per_utt)
    error_rows = "".join(
        f"<tr><td>{html.escape(r.runner)}</td><td>{html.escape(r.utterance)}</td><td>{html.escape(str(r.error))}</td></tr>"
        for r in errors.head(200).itertuples()
    )
    error_html = (
        f"<h2>Skipped or partial rows ({len(errors)})</h2><table><tr><th>runner</th><th>utterance</th>"
        f"<th>reason</th></tr>{error_rows}</table>"
        if len(errors)
        else ""
    )
    metrics = [c for c in columns if c in per_utt]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(suite.name)} - gtcrn-bench</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
tr th:first-child, tr td:first-child {{ text-align: left; }}
tr.published {{ color: #666; font-style: italic; background: #f7f7f7; }}
td.best {{ font-weight: bold; background: #dff0d8; }}
.tag {{ font-size: 0.75em; background: #ddd; border-radius: 3px; padding: 0 0.3em; font-style: normal; }}
figure img {{ max-width: 100%; }}
{STYLE}
</style></head><body>
<h1>{html.escape(suite.name)}</h1>
<p>{html.escape(suite.description)}</p>
<p>{per_utt["utterance"].nunique()} utterances, {per_utt["runner"].nunique()} runners.
{html.escape(NOTE.replace("*", "").replace("`", ""))} {HOW_TO_READ}</p>
{_comparison_html(table, columns)}
{html_latency(latency)}
{"".join(_img(f) for f in figures)}
{extras.compare}
{extras.listen}
{per_utterance_table(per_utt, metrics, extras.listened)}
{error_html}
<p id="size">{SIZE_PLACEHOLDER}</p>
<script>{SCRIPT}</script>
</body></html>
"""


def latency_frames(out_dir: Path) -> dict[str, np.ndarray]:
    """Per-frame model times in ms by runner, when the run timed them."""
    path = out_dir / "latency_frames.npz"
    if not path.exists():
        return {}
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def latency_hops(out_dir: Path) -> dict[str, float]:
    """Each timed runner's hop in ms (RTF is relative to it: 16 ms for GTCRN, 10 ms for RNNoise, ...)."""
    return {key: entry["hop_ms"] for key, entry in read_json(out_dir / "latency.json").items()}


def print_summary(console: Console, table: pd.DataFrame, per_utt: pd.DataFrame, columns: list[str]) -> None:
    """Console table of the main measures per runner (the full table is in report.md), then rows with errors."""
    shown = [c for c in columns if c in MAIN_METRICS or c in EXTRA_COLUMNS]
    view = Table(title="means over utterances (all measures: report.md)")
    view.add_column("runner")
    for column in shown:
        view.add_column(column_title(column), justify="right")
    for idx in table.index[table["kind"] == "measured"]:
        view.add_row(str(table.at[idx, "system"]), *(format_value(c, table.at[idx, c]) for c in shown))
    console.print(view)
    errors = _errors(per_utt)
    for r in errors.head(10).itertuples():
        where = escape(f"{r.runner} {r.utterance}: {r.error}")
        console.print(f"[yellow]skipped/partial[/yellow] {where}", highlight=False)
    if len(errors) > 10:
        console.print(f"… {len(errors) - 10} more rows with errors in per_utterance.csv")


def read_run(run_dir: Path) -> tuple[Suite, dict[str, Any]]:
    """A results folder's suite and metadata.json."""
    meta = json.loads((run_dir / "metadata.json").read_text())
    return validate_suite(meta["suite"], run_dir / "metadata.json"), meta


def read_rows(run_dir: Path, suite: Suite) -> pd.DataFrame:
    """per_utterance.csv in the suite's runner order (rows arrive in completion order)."""
    per_utt = pd.read_csv(run_dir / "per_utterance.csv", dtype={"error": str, "runner": str, "utterance": str})
    order = {entry.key: i for i, entry in enumerate(suite.runners)}
    return per_utt.sort_values("runner", key=lambda col: col.map(order), kind="stable").reset_index(drop=True)


def listen_config(suite: Suite, options: ReportOptions) -> ListenConfig:
    """The suite's ``report.listen`` with the command line's ``--listen`` and ``--pick`` on top."""
    update: dict[str, Any] = {}
    if options.listen_count is not None:
        update["count"] = options.listen_count
    if options.pick is not None:
        update["pick"] = options.pick
    return ListenConfig.model_validate({**suite.report.listen.model_dump(), **update})


def build_listening(
    out_dir: Path, suite: Suite, per_utt: pd.DataFrame, metric_names: list[str], options: ReportOptions
) -> tuple[str, frozenset[str]]:
    """The listening section's HTML and the utterances it plays; audio written to ``listen/`` (or embedded)."""
    shutil.rmtree(out_dir / "listen", ignore_errors=True)  # a rebuilt report keeps no stale players
    config = listen_config(suite, options)
    names, reasons = listen.pick_utterances(per_utt, suite, config)
    if not names:
        return "", frozenset()
    items = [listen.ListenItem(name, reasons[name]) for name in names]
    meta_path = out_dir / "metadata.json"  # the dataset as the run resolved it (--data included)
    root = json.loads(meta_path.read_text())["dataset"]["root"] if meta_path.exists() else suite.dataset_root()
    listen.collect(listen.RunAudio("", suite, root, per_utt, metric_names), items)
    if options.compare is not None:
        other_suite, other_meta = read_run(options.compare)
        other_rows = read_rows(options.compare, other_suite)
        other = listen.RunAudio(
            options.compare.name, other_suite, other_meta["dataset"]["root"], other_rows, list(other_meta["metrics"])
        )
        listen.collect(other, items)
    media = listen.write_media(items, out_dir, options.self_contained)
    metric = listen.pick_metric(per_utt)
    pair = f" between {' and '.join(config.systems)}" if config.pick == "differ" and config.systems else ""
    header = (
        f"{len(items)} utterances picked by '{config.pick}'{pair} on {metric} "
        f"(suite: report.listen; command line: gtcrn-bench report DIR --listen N --pick spread|worst|best|differ)."
    )
    return listening_section(items, media, header), frozenset(names)


def _size_text(out_dir: Path, started: float) -> str:
    """What the report weighs (report.html and listen/) against its budget, and how long it took to build."""
    page = (out_dir / "report.html").stat().st_size
    files = [f for f in (out_dir / "listen").rglob("*") if f.is_file()] if (out_dir / "listen").exists() else []
    audio = sum(f.stat().st_size for f in files)
    total = (page + audio) / 1e6
    over = " - over budget" if total > LISTEN_BUDGET_MB else ""
    return (
        f"This report: report.html {page / 1e6:.2f} MB + listen/ {audio / 1e6:.2f} MB ({len(files)} files) "
        f"= {total:.2f} MB; budget {LISTEN_BUDGET_MB:.0f} MB for 12 utterances x 10 systems{over}. "
        f"Built in {time.perf_counter() - started:.1f} s by gtcrn-bench report."
    )


def write_tables(
    out_dir: Path,
    suite: Suite,
    metric_names: list[str],
    console: Console,
    options: ReportOptions | None = None,
) -> pd.DataFrame:
    """Write summary.csv, the figures, report.md and report.html (with listen/); returns the comparison table."""
    started = time.perf_counter()
    options = options or ReportOptions()
    per_utt = read_rows(out_dir, suite)
    summary = summarize(per_utt, metric_names, suite.reference_key)
    summary.to_csv(out_dir / "summary.csv", index=False)
    table = comparison_table(summary, metric_names, out_dir, suite.dataset.published, suite.reference_key)
    columns = present_columns(table, metric_names)
    figures = [
        f
        for f in (
            plots.metric_bars(table, out_dir / "metrics.png"),
            plots.quality_vs_compute(table, out_dir / "quality_vs_compute.png"),
            plots.latency_histograms(latency_frames(out_dir), latency_hops(out_dir), out_dir / "latency_hist.png"),
        )
        if f is not None
    ]
    content = ReportContent(suite, per_utt, table, columns, figures, latency_table(out_dir))
    (out_dir / "report.md").write_text(render_markdown(content))
    listen_html, listened = build_listening(out_dir, suite, per_utt, metric_names, options)
    compare_html = ""
    if options.compare is not None:
        compare_html = compare_section(compare_runs(out_dir, options.compare), out_dir, options.compare)
    page = out_dir / "report.html"
    page.write_text(render_html(content, HtmlExtras(listen_html, compare_html, listened)))
    size = _size_text(out_dir, started)
    page.write_text(page.read_text().replace(SIZE_PLACEHOLDER, html.escape(size)))
    console.print(size)
    print_summary(console, table, per_utt, columns)
    return table
