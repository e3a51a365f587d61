"""The interactive parts of report.html: sortable and filterable tables, the listening section, a run comparison.

Plain HTML and one small inline script (:data:`SCRIPT`), with no network
access: the page must open offline, from a mail attachment or a CI artefact.
Cells carry their numeric value in ``data-v`` so sorting is numeric, and their
95% interval in ``title`` so hovering shows it.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from gtcrn_bench.suite.listen import DYNAMIC_RANGE_DB, ListenItem, Media, slug
from gtcrn_bench.suite.tables import column_title, format_value

#: sorting (click a header; again to reverse) and the runner filter; a deliberate few lines instead of a library,
#: since the page may load nothing from the network
SCRIPT = """
document.querySelectorAll('table.sortable thead th').forEach(th => {
  th.addEventListener('click', () => {
    const col = th.cellIndex;
    const body = th.closest('table').tBodies[0];
    const up = th.dataset.dir !== 'asc';
    th.closest('tr').querySelectorAll('th').forEach(h => delete h.dataset.dir);
    th.dataset.dir = up ? 'asc' : 'desc';
    const key = r => { const c = r.cells[col]; const v = parseFloat(c.dataset.v);
      return isNaN(v) ? c.textContent.trim() : v; };
    const rows = [...body.rows].sort((a, b) => { const x = key(a), y = key(b);
      const d = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return up ? d : -d; });
    rows.forEach(r => body.appendChild(r));
  });
});
document.querySelectorAll('select.runner-filter').forEach(sel => sel.addEventListener('change', () => {
  document.getElementById(sel.dataset.table).querySelectorAll('tbody tr').forEach(r => {
    r.hidden = sel.value !== '' && r.dataset.runner !== sel.value; });
}));
"""

STYLE = """
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th[data-dir=asc]::after { content: ' \\25B2'; }
table.sortable thead th[data-dir=desc]::after { content: ' \\25BC'; }
.utt { border-top: 1px solid #ccc; padding: 0.5em 0; }
.clips { display: flex; flex-wrap: wrap; gap: 0.6em; }
.clip { margin: 0; width: 250px; font-size: 0.8em; }
.clip img { width: 250px; height: 128px; image-rendering: auto; display: block; }
.clip audio { width: 250px; }
.clip.other { background: #eef3fb; }
.axis { font-size: 0.7em; color: #666; }
.note { color: #a60; }
"""


def _num(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"


def per_utterance_table(per_utt: pd.DataFrame, metrics: list[str], listened: set[str]) -> str:
    """Every row of per_utterance.csv, sortable, filterable by runner; listened utterances link to their player."""
    runners = list(dict.fromkeys(per_utt["runner"]))
    options = "".join(f'<option value="{html.escape(r)}">{html.escape(r)}</option>' for r in runners)
    head = "".join(f"<th>{html.escape(column_title(m))}</th>" for m in metrics)
    body = []
    for row in per_utt.itertuples(index=False):
        utt = html.escape(row.utterance)
        name = f'<a href="#u-{slug(row.utterance)}">{utt}</a>' if row.utterance in listened else utt
        cells = "".join(
            f'<td data-v="{_num(v)}">{html.escape(format_value(m, v))}</td>'
            for m, v in ((m, pd.to_numeric(getattr(row, m), errors="coerce")) for m in metrics)
        )
        body.append(
            f'<tr data-runner="{html.escape(row.runner)}"><td>{html.escape(row.runner)}</td><td>{name}</td>{cells}</tr>'
        )
    return (
        f'<h2 id="per-utterance">Per utterance ({len(per_utt)} rows)</h2>'
        f'<p>runner: <select class="runner-filter" data-table="per-utt"><option value="">all</option>{options}</select>'
        " Click a column title to sort.</p>"
        f'<table class="sortable" id="per-utt"><thead><tr><th>runner</th><th>utterance</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _scores_line(scores: dict[str, float]) -> str:
    return " · ".join(f"{column_title(m)} {format_value(m, v)}" for m, v in scores.items())


def listening_section(items: list[ListenItem], media: dict[tuple[str, str, str], Media], header: str) -> str:
    """One block per utterance: a player and spectrogram per clip, with the clip's scores."""
    blocks = []
    for item in items:
        figures = []
        for clip in item.clips:
            m = media[(item.utterance, clip.run, clip.label)]
            label = html.escape(f"{clip.label} ({clip.run})" if clip.run else clip.label)
            note = f'<div class="note">{html.escape(clip.note)}</div>' if clip.note else ""
            figures.append(
                f'<figure class="clip{" other" if clip.run else ""}"><figcaption><b>{label}</b></figcaption>'
                f'<img class="spec" alt="spectrogram of {label}" src="{m.image}">'
                f'<audio controls preload="metadata" data-duration="{m.duration_s:.4f}" src="{m.audio}"></audio>'
                f'<div class="scores">{html.escape(_scores_line(clip.scores))}</div>{note}</figure>'
            )
        issues = "".join(f'<li class="note">{html.escape(p)}</li>' for p in item.problems)
        blocks.append(
            f'<div class="utt" id="u-{slug(item.utterance)}"><h3>{html.escape(item.utterance)}'
            f' <small>{html.escape(item.reason)}</small></h3><div class="clips">{"".join(figures)}</div>'
            f"{f'<ul>{issues}</ul>' if issues else ''}</div>"
        )
    return (
        f'<h2 id="listen">Listen</h2><p>{html.escape(header)}</p>'
        f'<p class="axis">Spectrograms: 0 to 8 kHz from bottom to top, 32 ms Hann frames, 16 ms hop; colour from '
        f"the utterance's loudest bin (clean or noisy) down {DYNAMIC_RANGE_DB:.0f} dB, the same for every player "
        "of the utterance. System outputs are aligned as scored (each runner's delay removed).</p>"
        f"{''.join(blocks)}"
    )


def compare_section(diff: pd.DataFrame, this: Path, other: Path) -> str:
    """Means of both runs, their difference, and whether it exceeds both runs' 95% intervals (sortable)."""
    rows = []
    for r in diff.itertuples(index=False):

        def cell(mean: float, low: float, high: float) -> str:
            hint = f' title="95% CI [{low:.4g}, {high:.4g}]"' if not math.isnan(low) else ""
            return f'<td data-v="{_num(mean)}"{hint}>{mean:.4g}</td>'

        flag = "yes" if r.significant else ""
        runner = html.escape(r.runner)
        rows.append(
            f'<tr data-runner="{runner}"><td>{runner}</td><td>{html.escape(r.metric)}</td>'
            f"{cell(r.mean, r.ci95_low, r.ci95_high)}{cell(r.mean_other, r.ci95_low_other, r.ci95_high_other)}"
            f'<td data-v="{_num(r.delta)}">{r.delta:+.4g}</td><td>{flag}</td></tr>'
        )
    return (
        f'<h2 id="compare">Compared with {html.escape(str(other))}</h2>'
        f"<p>this run: {html.escape(str(this))}. A difference is marked when the two runs' 95% intervals do not "
        "overlap (the difference exceeds both intervals). Hover a mean for its interval.</p>"
        '<table class="sortable" id="compare-table"><thead><tr><th>runner</th><th>metric</th><th>this run</th>'
        f"<th>other run</th><th>difference</th><th>beyond both 95% CIs</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )
