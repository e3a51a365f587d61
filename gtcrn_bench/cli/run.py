"""``gtcrn-bench run``: the evaluation suite."""

from __future__ import annotations

import os
from dataclasses import replace
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
    retry_errors: Annotated[
        bool, typer.Option(help="With --resume: compute the rows that have an error again.")
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS", help="Seconds one pair may take before its worker is killed (suite: timeout_s)."
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(metavar="I/N", help="Compute shard I/N of the utterances only (merge shards with `merge`)."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(metavar="local|dask", help="local (worker processes here, the default) or dask (a Dask cluster)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Dask scheduler address (tcp:// or tls://); default: an embedded cluster."
        ),
    ] = None,
    tls_ca: Annotated[str | None, typer.Option(metavar="PEM", help="Dask TLS: the CA certificate (PEM).")] = None,
    tls_cert: Annotated[
        str | None, typer.Option(metavar="PEM", help="Dask TLS: this client's certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        str | None, typer.Option(metavar="PEM", help="Dask TLS: this client's private key (PEM).")
    ] = None,
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
    with other metrics does not enhance again. Every pair runs in a supervised
    worker process: a crash or a pair over --timeout becomes that row's error.
    Ctrl-C keeps what was computed; --resume finishes it.
    """
    from gtcrn_bench.suite.engine import RunOptions, run_suite  # the whole pipeline: loaded when it runs
    from gtcrn_bench.suite.shards import Shard

    options = RunOptions(Path(suite), data, out, jobs, limit, resume, latency, latency_frames)
    options = replace(
        options,
        retry_errors=retry_errors,
        timeout_s=timeout,
        shard=None if shard is None else Shard.parse(shard),
        executor=executor,
        scheduler=scheduler,
        tls=(tls_ca, tls_cert, tls_key),
    )
    outcome = run_suite(options, console=err_console)
    console.print(
        f"{outcome.rows} rows ({outcome.computed} computed now, {outcome.errors} with errors) "
        f"in {outcome.wall_s:.1f} s -> {outcome.out_dir}"
    )
    if outcome.interrupted:
        raise typer.Exit(130)
    if strict and outcome.errors:
        raise typer.Exit(1)
