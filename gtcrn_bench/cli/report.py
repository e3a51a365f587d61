"""``gtcrn-bench report``: rebuild a run's report, optionally comparing it with another run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gtcrn_bench.cli.app import command, console, err_console, user_errors
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.suite.config import Suite, validate_suite


def _run_of(run_dir: Path) -> tuple[Suite, list[str], dict]:
    """The suite, metric list and metadata a results folder was made with (from its metadata.json)."""
    meta_path = run_dir / "metadata.json"
    if not meta_path.exists():
        raise ConfigError(f"{run_dir}: no metadata.json (is it a results folder of `gtcrn-bench run`?)")
    meta = json.loads(meta_path.read_text())
    suite = validate_suite(meta["suite"], meta_path)  # a suite that no longer validates: one line naming the key
    return suite, list(meta["metrics"]), meta


@command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="A results folder written by `gtcrn-bench run`.")],
    compare: Annotated[
        Path | None,
        typer.Option(metavar="RUN_DIR", help="Another results folder, shown side by side (means, differences, audio)."),
    ] = None,
    listen: Annotated[
        int | None, typer.Option(min=0, metavar="N", help="Utterances with players and spectrograms (default 12).")
    ] = None,
    pick: Annotated[
        str | None, typer.Option(metavar="HOW", help="Which ones: spread (default), worst, best or differ.")
    ] = None,
    self_contained: Annotated[
        bool, typer.Option(help="Embed audio and spectrograms in report.html instead of writing listen/.")
    ] = False,
) -> None:
    """Rebuild the tables, report and figures of a results folder.

    Writes summary.csv, report.md, report.html (with its listening section) and
    the figures again. The audio comes from the run's cache; the dataset must
    still be where the run found it.
    """
    from gtcrn_bench.datasets import open_dataset
    from gtcrn_bench.suite.compare import compare_runs  # pandas, scipy, matplotlib: loaded when it runs
    from gtcrn_bench.suite.report import write_tables

    suite, metric_names, meta = _run_of(run_dir)
    if listen is not None or pick is not None:
        chosen = {k: v for k, v in {"count": listen, "pick": pick}.items() if v is not None}
        data = suite.model_dump()
        data["report"]["listen"].update(chosen)
        suite = validate_suite(data, Path("--listen/--pick"))  # a bad --pick: one line naming the allowed values
    dataset = None
    if suite.report.listen.count:
        dataset = open_dataset(suite.dataset.kind, meta["dataset"]["root"], manifest=suite.dataset.manifest)
    write_tables(run_dir, suite, metric_names, err_console, dataset, embed=self_contained, other=compare)
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
