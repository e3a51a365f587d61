"""``gtcrn-bench merge``: shards of one run (``run --shard I/N``) into one results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench.cli.app import command, console, err_console, user_errors


@command()
@user_errors
def merge(
    out: Annotated[Path, typer.Argument(help="The merged results folder (new).")],
    shards: Annotated[list[Path], typer.Argument(help="The shards' results folders, one per shard 1..N.")],
) -> None:
    """Merge the results folders of `run --shard 1/N` ... `N/N` into one, with its tables and report.

    Refuses shards of different suites, metrics, datasets or runner identities,
    and duplicated or missing pairs, naming them.
    """
    from gtcrn_bench.suite.merge import merge_shards  # pandas and the report: loaded when it runs

    rows = merge_shards(out, shards, err_console)
    console.print(f"{rows} rows from {len(shards)} shards -> {out}")
