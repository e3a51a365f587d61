"""``gtcrn-bench fetch``: put published artefacts in the local store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench import store
from gtcrn_bench.cli.app import app, command, console, user_errors
from gtcrn_bench.errors import ConfigError

fetch_app = typer.Typer(
    no_args_is_help=True,
    short_help="Get the models, baselines and test set (or copy a mirror).",
    help="Download the published models (sha256-pinned), baselines' weights and the test set, or copy them from a "
    "local mirror (--from).",
)
app.add_typer(fetch_app, name="fetch")


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
    unknown = sorted(set(only or []) - set(store.ARTEFACTS))
    if unknown:
        raise ConfigError(f"unknown alias {', '.join(unknown)}; known: {', '.join(store.ARTEFACTS)}")
    paths = store.fetch(only or None, source=source, base_url=base_url)
    for alias, path in zip(only or list(store.ARTEFACTS), paths, strict=True):
        console.print(f"[green]ok[/green] {alias:<20} {path}")
