"""summary.csv, report.md and a self-contained report.html from the files of a results folder.

Everything is derived from per_utterance.csv (plus complexity.json, latency.json
and latency_frames.npz when present), so ``gtcrn-bench report DIR`` can rebuild
a report at any time.
"""

from __future__ import annotations

import base64
import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from gtcrn_bench.datasets import Dataset
from gtcrn_bench.suite import plots
from gtcrn_bench.suite.compare import compare_runs
from gtcrn_bench.suite.config import Suite
from gtcrn_bench.suite.console_table import print_comparison
from gtcrn_bench.suite.listen import FOLDER, ListenItem, build_listening
from gtcrn_bench.suite.page import (
    SCRIPT,
    STYLE,
    compare_section,
    interval_title,
    listening_section,
    number,
    other_run_players,
    per_utterance_table,
)
from gtcrn_bench.suite.summary import summarize
from gtcrn_bench.suite.tables import (
    LATENCY_COLUMNS,
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
SIZE_MARK = "@@report-size@@"  # replaced by the size statement once the page is complete
#: what report.html plus listen/ may weigh with the default selection (12 utterances x 10 systems, Opus): the
#: measured mini-set run is far below it; a larger selection or FLAC is announced on the console when it goes over
SIZE_BUDGET_MB = 10
LATENCY_TITLE = "Latency per runner"
LATENCY_NOTE = (
    "Timed per frame in the main process after the quality rows, every runner interleaved with the others. "
    "RTF: mean model-call time over the runner's own hop (offline runners: the whole file); whole-step RTF: "
    "the full frame step (STFT, resampling, ...); streams per core: hop / (whole-step mean x threads), an upper bound."
)
LatencyRows = list[tuple[str, list[str]]]


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


CPU_NOTE = (
    "CPU seconds of the worker processes per (runner, utterance) pair, summed over the run "
    "(worker start-up and the latency stage not counted; audio reused from the cache costs its runner "
    "almost nothing). The metric groups' share shows what a metric set costs."
)


def cpu_rows(cpu: dict[str, dict[str, float]]) -> list[tuple[str, str, float, float]]:
    """(part, name, CPU seconds, share of the whole) for every runner and metric group, costliest first."""
    total = sum(sum(part.values()) for part in cpu.values()) or 1.0
    return [
        (part, name, seconds, seconds / total)
        for part in ("runners", "metrics")
        for name, seconds in sorted(cpu.get(part, {}).items(), key=lambda item: -item[1])
    ]


def markdown_cpu(cpu: dict[str, dict[str, float]]) -> str:
    """The report's "Where the CPU time went" section ("" when the run recorded none)."""
    rows = cpu_rows(cpu)
    if not rows:
        return ""
    lines = ["| | name | CPU s | share |", "|---|---|---:|---:|"]
    lines += [f"| {'runner' if part == 'runners' else 'metric'} | {n} | {s:.1f} | {f:.1%} |" for part, n, s, f in rows]
    return "\n\n".join(["## Where the CPU time went", CPU_NOTE, "\n".join(lines)])


def html_cpu(cpu: dict[str, dict[str, float]]) -> str:
    """The same section for report.html."""
    rows = cpu_rows(cpu)
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{'runner' if part == 'runners' else 'metric'}</td><td>{html.escape(n)}</td>"
        f"<td>{s:.1f}</td><td>{f:.1%}</td></tr>"
        for part, n, s, f in rows
    )
    return (
        f"<h2>Where the CPU time went</h2><p>{html.escape(CPU_NOTE)}</p>"
        f"<table><tr><th></th><th>name</th><th>CPU s</th><th>share</th></tr>{body}</table>"
    )


def _errors(per_utt: pd.DataFrame) -> pd.DataFrame:
    return per_utt[per_utt["error"].fillna("") != ""]


@dataclass(frozen=True)
class HtmlExtras:
    """What only report.html has: the listening section, the per-utterance table, a comparison with another run."""

    metric_names: list[str] = field(default_factory=list)
    listening: list[ListenItem] = field(default_factory=list)
    pick: str = ""
    compared: str = ""  # the other run's section, already rendered


@dataclass(frozen=True)
class ReportContent:
    """What both renderings of the report show: the suite, its rows, the comparison table, figures, latency."""

    suite: Suite
    per_utt: pd.DataFrame
    table: pd.DataFrame
    columns: list[str]
    figures: list[Path]
    latency: LatencyRows
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # metadata.json's cpu_seconds: runners, metrics
    extras: HtmlExtras = field(default_factory=lambda: HtmlExtras())


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
        markdown_cpu(content.cpu),
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


def render_html(content: ReportContent) -> str:
    """report.html: the same table and the figures embedded as data URIs (one file, opens anywhere)."""
    suite, per_utt, table, columns = content.suite, content.per_utt, content.table, content.columns
    figures, latency, extras = content.figures, content.latency, content.extras
    best = {c: best_rows(table, c) for c in columns}
    head = "".join(f"<th>{html.escape(column_title(c))}</th>" for c in columns)
    body = []
    for idx in table.index:
        kind = table.at[idx, "kind"]
        cells = "".join(
            f'<td class="{"best" if idx in best[c] else ""}" data-v="{number(table.at[idx, c])}" '
            f'title="{interval_title(table, idx, c)}">{html.escape(_cell(table, idx, c))}</td>'
            for c in columns
        )
        title = html.escape(str(table.at[idx, "source"] or ""))
        name = html.escape(str(table.at[idx, "system"]))
        label = f'<span class="tag">published</span> {name}' if kind == "published" else name
        body.append(f'<tr class="{kind}" title="{title}"><th>{label}</th>{cells}</tr>')
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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(suite.name)} - gtcrn-bench</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }}
tr th:first-child {{ text-align: left; }}
tr.published {{ color: #666; font-style: italic; background: #f7f7f7; }}
td.best {{ font-weight: bold; background: #dff0d8; }}
.tag {{ font-size: 0.75em; background: #ddd; border-radius: 3px; padding: 0 0.3em; font-style: normal; }}
figure img {{ max-width: 100%; }}
{STYLE}
</style></head><body>
<h1>{html.escape(suite.name)}</h1>
<p>{html.escape(suite.description)}</p>
<p>{per_utt["utterance"].nunique()} utterances, {per_utt["runner"].nunique()} runners.
{html.escape(NOTE.replace("*", "").replace("`", ""))}</p>
<table class="sortable" id="comparison"><thead><tr><th>system</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody></table>
<p class="size">{SIZE_MARK}</p>
{html_latency(latency)}
{html_cpu(content.cpu)}
{"".join(_img(f) for f in figures)}
{listening_section(extras.listening, extras.pick)}
{extras.compared}
{error_html}
{per_utterance_table(per_utt, extras.metric_names)}
{SCRIPT}
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
    print_comparison(console, table, columns)
    errors = _errors(per_utt)
    for r in errors.head(10).itertuples():
        where = escape(f"{r.runner} {r.utterance}: {r.error}")
        console.print(f"[yellow]skipped/partial[/yellow] {where}", highlight=False)
    if len(errors) > 10:
        console.print(f"… {len(errors) - 10} more rows with errors in per_utterance.csv")


def size_statement(html_bytes: int, out_dir: Path) -> str:
    """What the report weighs: the page, and the listening files beside it (or that they are embedded)."""
    files = [f for f in (out_dir / FOLDER).rglob("*") if f.is_file()] if (out_dir / FOLDER).is_dir() else []
    listen_bytes = sum(f.stat().st_size for f in files)
    where = f" + {listen_bytes / 1e6:.1f} MB in {FOLDER}/ ({len(files)} files)" if files else ""
    return f"Size of this report: {html_bytes / 1e6:.1f} MB of HTML{where} (budget: {SIZE_BUDGET_MB} MB)."


def write_html(out_dir: Path, page: str) -> int:
    """report.html with its size stated in it; returns the bytes the report occupies, listening files included."""
    html_bytes = len(page.encode())
    statement = size_statement(html_bytes, out_dir)
    (out_dir / "report.html").write_text(page.replace(SIZE_MARK, html.escape(statement)))
    files = (out_dir / FOLDER).rglob("*") if (out_dir / FOLDER).is_dir() else []
    return html_bytes + sum(f.stat().st_size for f in files if f.is_file())


def write_tables(
    out_dir: Path,
    suite: Suite,
    metric_names: list[str],
    console: Console,
    dataset: Dataset | None = None,
    *,
    embed: bool = False,
    other: Path | None = None,
) -> pd.DataFrame:
    """Write summary.csv, the figures, report.md and report.html; returns the comparison table.

    ``dataset``: the run's audio, for the listening section (none without it);
    ``embed``: audio and spectrograms inside report.html instead of ``listen/``;
    ``other``: another results folder shown side by side.
    """
    per_utt = pd.read_csv(out_dir / "per_utterance.csv", dtype={"error": str, "runner": str, "utterance": str})
    order = {entry.key: i for i, entry in enumerate(suite.runners)}  # rows arrive in completion order
    per_utt = per_utt.sort_values("runner", key=lambda col: col.map(order), kind="stable").reset_index(drop=True)
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
    if dataset is None:
        shutil.rmtree(out_dir / FOLDER, ignore_errors=True)  # no listening section: no stale files beside the page
    listening = [] if dataset is None else build_listening(suite, dataset, per_utt, metric_names, out_dir, embed)
    compared = ""
    if other is not None:
        compared = compare_section(compare_runs(out_dir, other), str(out_dir), str(other))
        compared += other_run_players(listening, other, out_dir)
    extras = HtmlExtras(metric_names, listening, suite.report.listen.pick, compared)
    cpu = read_json(out_dir / "metadata.json").get("cpu_seconds", {})
    content = ReportContent(suite, per_utt, table, columns, figures, latency_table(out_dir), cpu, extras)
    (out_dir / "report.md").write_text(render_markdown(content))
    size = write_html(out_dir, render_html(content))
    print_summary(console, table, per_utt, columns)
    if size > SIZE_BUDGET_MB * 1e6:
        console.print(f"[yellow]note[/yellow]: the report is {size / 1e6:.1f} MB, over its {SIZE_BUDGET_MB} MB budget")
    return table
