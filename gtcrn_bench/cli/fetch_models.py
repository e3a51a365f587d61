"""``gtcrn-bench fetch models``: GTCRN's published checkpoints, ONNX graphs and test wavs into the store."""

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
            "--from", help="A local clone or copy of the GTCRN repository to copy from instead of downloading."
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Mirror of the repository's raw files (default: GitHub at commit 3862c44).")
    ] = None,
    only: Annotated[list[str] | None, typer.Option("--only", help="Fetch just these aliases (repeatable).")] = None,
) -> None:
    """Fetch GTCRN's checkpoints, ONNX graphs and test wavs.

    Each file is verified against its pinned sha256.
    """
    paths = store.fetch(only or None, source=source, base_url=base_url)
    for alias, path in zip(only or list(store.ARTEFACTS), paths, strict=True):
        console.print(f"[green]ok[/green] {alias:<20} {path}")
