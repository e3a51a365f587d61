"""``gtcrn-bench report``: rebuild a run's report, optionally comparing it with another run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gtcrn_bench.cli.app import app, console, err_console, user_errors
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.suite.config import Suite, validate_suite

PICKS = ("spread", "worst", "best", "differ")


def _suite_of(run_dir: Path) -> tuple[Suite, list[str]]:
    """The suite and metric list a results folder was made with (from its metadata.json)."""
    meta_path = run_dir / "metadata.json"
    if not meta_path.exists():
        raise ConfigError(f"{run_dir}: no metadata.json (is it a results folder of `gtcrn-bench run`?)")
    meta = json.loads(meta_path.read_text())
    suite = validate_suite(meta["suite"], meta_path)  # a suite that no longer validates: one line naming the key
    return suite, list(meta["metrics"])


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A results folder written by `gtcrn-bench run`.")],
    compare: Annotated[
        Path | None,
        typer.Option(help="Another results folder: both runs side by side in report.html, and in the console."),
    ] = None,
    listen: Annotated[
        int | None,
        typer.Option(min=0, help="Utterances in the listening section (default: the suite's report.listen.count)."),
    ] = None,
    pick: Annotated[
        str | None,
        typer.Option(help="How to pick them: spread, worst, best or differ (default: the suite's, else spread)."),
    ] = None,
    self_contained: Annotated[
        bool, typer.Option("--self-contained", help="Embed the audio in report.html instead of listen/.")
    ] = False,
) -> None:
    """Regenerate summary.csv, report.md, report.html (with its listening section) and the figures of a folder."""
    from gtcrn_bench.suite.compare import compare_runs  # pandas, scipy, matplotlib: loaded when it runs
    from gtcrn_bench.suite.report import ReportOptions, write_tables

    if pick is not None and pick not in PICKS:
        raise ConfigError(f"--pick {pick}: choose one of {', '.join(PICKS)}")
    if compare is not None:
        _suite_of(compare)  # a clear error before any work when the other folder is not a results folder
    suite, metric_names = _suite_of(run_dir)
    write_tables(run_dir, suite, metric_names, err_console, ReportOptions(listen, pick, self_contained, compare))
    console.print(f"report: {run_dir / 'report.md'} and {run_dir / 'report.html'}")
    if compare is None:
        return
    diff = compare_runs(run_dir, compare)
    table = Table(title=f"{run_dir} vs {compare}")
    for col in ("runner", "metric", "this", "other", "delta", "beyond 95% CI"):
        table.add_column(col, justify="left" if col in ("runner", "metric") else "right")
    for r in diff.itertuples():
        flag = "[bold red]yes[/bold red]" if r.significant else ""
        table.add_row(r.runner, r.metric, f"{r.mean:.4f}", f"{r.mean_other:.4f}", f"{r.delta:+.4f}", flag)
    console.print(table)
