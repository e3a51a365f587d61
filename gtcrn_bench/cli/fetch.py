"""``gtcrn-bench fetch``: put published artefacts in the local store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench import store
from gtcrn_bench.cli.app import app, console, user_errors
from gtcrn_bench.errors import ConfigError

fetch_app = typer.Typer(help="Download published models and data (sha256-checked) or copy them from a local mirror.")
app.add_typer(fetch_app, name="fetch")


@fetch_app.command("models")
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
    """Fetch the GTCRN checkpoints, published ONNX and test wavs, each verified against its pinned sha256."""
    unknown = sorted(set(only or []) - set(store.ARTEFACTS))
    if unknown:
        raise ConfigError(f"unknown alias {', '.join(unknown)}; known: {', '.join(store.ARTEFACTS)}")
    paths = store.fetch(only or None, source=source, base_url=base_url)
    for alias, path in zip(only or list(store.ARTEFACTS), paths, strict=True):
        console.print(f"[green]ok[/green] {alias:<20} {path}")
