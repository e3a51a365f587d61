"""``gtcrn-bench fetch models``: GTCRN's and UL-UNAS's checkpoints, ONNX graphs and test wavs into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench import store
from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.cli.fetch import fetch_app


@command("models", group=fetch_app)
@user_errors
def fetch_models(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="A local clone of GTCRN's or UL-UNAS's repository: its pinned files are copied, not downloaded.",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Mirror of the repository's raw files (default: GitHub at commit 3862c44).")
    ] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Fetch just these aliases (repeatable).")] = None,
) -> None:
    """Fetch GTCRN's and UL-UNAS's checkpoints, ONNX graphs and test wavs.

    Each file is verified against its pinned sha256. With --from, the files of
    the repository DIR is a clone of; with --base-url, GTCRN's from that mirror.
    """
    aliases = only or store.default_aliases(source, base_url)
    paths = store.fetch(aliases, source=source, base_url=base_url)
    for alias, path in zip(aliases, paths, strict=True):
        console.print(f"[green]ok[/green] {alias:<20} {path}")
