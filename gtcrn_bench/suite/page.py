"""The interactive parts of report.html: sortable, filterable tables and the listening section.

Plain HTML and one small inline script, no library and no network access: the
page must open on an offline machine, from a mail attachment or a CI artefact.
Sorting uses each cell's ``data-v`` (the number behind the text), so "1,800.0 K"
sorts as 1800000; hovering a mean shows its 95% interval in the cell's title.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import pandas as pd

from gtcrn_bench.suite.listen import FOLDER, Clip, ListenItem
from gtcrn_bench.suite.tables import MAIN_METRICS, format_value

SCRIPT = """<script>
(() => {
  const value = (row, i) => {
    const cell = row.cells[i];
    const v = cell.dataset.v;
    return v === undefined || v === '' ? cell.textContent.trim() : parseFloat(v);
  };
  document.querySelectorAll('table.sortable').forEach(table => {
    table.querySelectorAll('thead th').forEach((th, i) => {
      th.title = 'sort by this column';
      th.addEventListener('click', () => {
        const body = table.tBodies[0];
        const up = th.dataset.order !== 'asc';
        table.querySelectorAll('thead th').forEach(h => delete h.dataset.order);
        th.dataset.order = up ? 'asc' : 'desc';
        const rows = [...body.rows];
        rows.sort((a, b) => {
          const x = value(a, i), y = value(b, i);
          const missing = (x === '' || Number.isNaN(x)) - (y === '' || Number.isNaN(y));
          if (missing) return missing;
          const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
          return up ? order : -order;
        });
        rows.forEach(r => body.appendChild(r));
      });
    });
  });
  document.querySelectorAll('input.filter').forEach(input => {
    const table = document.getElementById(input.dataset.table);
    input.addEventListener('input', () => {
      const words = input.value.toLowerCase().split(/[ ,]+/).filter(Boolean);
      [...table.tBodies[0].rows].forEach(row => {
        const runner = row.cells[0].textContent.toLowerCase();
        row.hidden = words.length > 0 && !words.some(w => runner.includes(w));
      });
    });
  });
})();
</script>"""

STYLE = """
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th[data-order=asc]::after { content: " \\25B2"; }
table.sortable thead th[data-order=desc]::after { content: " \\25BC"; }
.utt { margin: 1.5em 0; }
.clips { display: flex; flex-wrap: wrap; gap: 0.8em; }
.clip { margin: 0; width: 260px; font-size: 0.8em; }
.clip img { width: 260px; height: 120px; display: block; image-rendering: auto; }
.clip audio { width: 260px; }
.clip figcaption { font-weight: bold; }
.m { color: #555; }
input.filter { margin: 0.5em 0; }
"""


def number(value: object) -> str:
    """The ``data-v`` of a cell: the number as text, empty when missing."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(x) else repr(x)


def interval_title(table: pd.DataFrame, idx: int, column: str) -> str:
    """``95% CI 2.41 to 2.60``: the hover text of a mean (empty without an interval)."""
    half = table.at[idx, f"{column}_ci"] if f"{column}_ci" in table else math.nan
    mean = table.at[idx, column]
    if not number(half) or not number(mean):
        return ""
    lo, hi = float(mean) - float(half), float(mean) + float(half)
    return f"95% CI {format_value(column, lo)} to {format_value(column, hi)}"


def per_utterance_table(per_utt: pd.DataFrame, metric_names: list[str]) -> str:
    """Every row of per_utterance.csv, sortable, with a filter on the runner."""
    columns = [m for m in metric_names if m in per_utt]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["runner", "utterance", *columns, "error"])
    rows = []
    for r in per_utt.itertuples(index=False):
        record = r._asdict()
        cells = "".join(f'<td data-v="{number(record[c])}">{format_value(c, record[c])}</td>' for c in columns)
        error = html.escape(str(record.get("error") or "")) if str(record.get("error")) != "nan" else ""
        rows.append(
            f"<tr><th>{html.escape(str(record['runner']))}</th><td>{html.escape(str(record['utterance']))}</td>"
            f"{cells}<td>{error}</td></tr>"
        )
    return (
        f"<h2>Per utterance ({len(per_utt)} rows)</h2>"
        '<input class="filter" data-table="per-utterance" placeholder="filter by runner (e.g. gtcrn rnnoise)">'
        f'<table class="sortable" id="per-utterance"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        "</table>"
    )


def clip_html(clip: Clip) -> str:
    """One system's player, spectrogram and main metrics (all of them are in the per-utterance table)."""
    if clip.problem:
        return (
            f'<figure class="clip"><figcaption>{html.escape(clip.system)}</figcaption>'
            f'<div class="m">no audio: {html.escape(clip.problem)}</div></figure>'
        )
    shown = " · ".join(f"{m} {format_value(m, clip.metrics[m])}" for m in MAIN_METRICS if m in clip.metrics)
    return (
        f'<figure class="clip" data-system="{html.escape(clip.system)}" data-duration="{clip.duration_s}">'
        f"<figcaption>{html.escape(clip.system)}</figcaption>"
        f'<img alt="spectrogram of {html.escape(clip.system)}" src="{clip.spectrogram_url}">'
        f'<audio controls preload="metadata" src="{clip.audio_url}"></audio>'
        f'<div class="m">{html.escape(shown)}</div></figure>'
    )


def listening_section(items: list[ListenItem], pick: str) -> str:
    """Players for every selected utterance; empty when nothing was selected."""
    if not items:
        return ""
    blocks = [
        f'<div class="utt" id="listen-{html.escape(item.utterance)}"><h3>{html.escape(item.utterance)} '
        f"<small>({html.escape(item.reason)})</small></h3>"
        f'<div class="clips">{"".join(clip_html(c) for c in item.clips)}</div></div>'
        for item in items
    ]
    return (
        f'<h2 id="listen">Listen ({len(items)} utterances, picked: {html.escape(pick)})</h2>'
        "<p>Each system's output as it was scored (its declared delay removed). Spectrograms: 0 to 8 kHz, "
        "one colour scale per utterance (80 dB down from its loudest bin), so systems compare at a glance.</p>"
        + "".join(blocks)
    )


def other_run_players(items: list[ListenItem], other: Path, out_dir: Path) -> str:
    """The other run's audio of the utterances this report lets you hear (from its own listen/ folder)."""
    blocks = []
    for item in items:
        folder = other / FOLDER / Path(item.utterance).stem
        files = sorted(p for p in folder.glob("*") if p.suffix in (".ogg", ".flac")) if folder.is_dir() else []
        players = "".join(
            f'<figure class="clip"><figcaption>other run: {html.escape(f.stem)}</figcaption>'
            f'<audio controls preload="metadata" src="{Path(os.path.relpath(f, out_dir)).as_posix()}"></audio></figure>'
            for f in files
        )
        if players:
            title = f"<h3>{html.escape(item.utterance)}</h3>"
            blocks.append(f'<div class="utt">{title}<div class="clips">{players}</div></div>')
    if not blocks:
        return "<p>The other run has no listening files for these utterances (rebuild its report with --listen).</p>"
    return "<h3>The same utterances in the other run</h3>" + "".join(blocks)


def compare_section(diff: pd.DataFrame, this: str, other: str) -> str:
    """Two runs side by side: both means, the difference, and whether it exceeds both runs' 95% intervals."""
    head = "".join(f"<th>{h}</th>" for h in ("runner", "metric", "this run", "other run", "difference", "beyond CIs"))
    rows = "".join(
        f"<tr><th>{html.escape(str(r.runner))}</th><td>{html.escape(str(r.metric))}</td>"
        f'<td data-v="{number(r.mean)}">{r.mean:.4f}</td><td data-v="{number(r.mean_other)}">{r.mean_other:.4f}</td>'
        f'<td data-v="{number(r.delta)}">{r.delta:+.4f}</td><td>{"yes" if r.significant else ""}</td></tr>'
        for r in diff.itertuples()
    )
    return (
        f"<h2>Compared with {html.escape(other)}</h2><p>This run: {html.escape(this)}. "
        "A difference is marked when the two runs' 95% intervals do not overlap.</p>"
        f'<table class="sortable" id="compare"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )
