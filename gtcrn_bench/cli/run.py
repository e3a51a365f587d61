"""``gtcrn-bench run``: the evaluation suite."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench.cli.app import command, console, err_console, user_errors


@command()
@user_errors
def run(
    suite: Annotated[str, typer.Argument(help="A packaged suite's name (vctk, dns3) or a suite file.")],
    data: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Dataset root, overriding the suite's dataset.root.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Output directory (default: results/<suite>-<timestamp>/).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", help="Worker processes (default: all cores).")] = (
        os.cpu_count() or 1
    ),
    limit: Annotated[int | None, typer.Option(metavar="N", help="Only the first N utterances (quick looks).")] = None,
    resume: Annotated[
        bool, typer.Option(help="Finish an interrupted run: keep its rows, compute the missing ones.")
    ] = False,
    strict: Annotated[bool, typer.Option(help="Exit with status 1 when any row has an error.")] = False,
    latency: Annotated[
        bool, typer.Option(help="Time every runner per frame after the quality rows (when the suite asks for it).")
    ] = True,
    latency_frames: Annotated[
        int | None,
        typer.Option(min=2, metavar="N", help="Frames timed per runner, overriding the suite (turns timing on)."),
    ] = None,
) -> None:
    """Run a suite: every runner on every utterance, every metric.

    Ends with the tables and a report.

    Writes per_utterance.csv (each row the moment it is computed), summary.csv,
    report.md and metadata.json. Enhanced audio is cached by content, so rerunning
    with other metrics does not enhance again. Ctrl-C keeps what was computed;
    --resume finishes it.
    """
    from gtcrn_bench.suite.engine import RunOptions, run_suite  # the whole pipeline: loaded when it runs

    outcome = run_suite(
        RunOptions(Path(suite), data, out, jobs, limit, resume, latency, latency_frames), console=err_console
    )
    console.print(
        f"{outcome.rows} rows ({outcome.computed} computed now, {outcome.errors} with errors) "
        f"in {outcome.wall_s:.1f} s -> {outcome.out_dir}"
    )
    if outcome.interrupted:
        raise typer.Exit(130)
    if strict and outcome.errors:
        raise typer.Exit(1)
