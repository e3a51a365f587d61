"""``gtcrn-bench fetch vctk-demand``: the VoiceBank+DEMAND test set at 16 kHz with a sha256 manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.cli.fetch import fetch_app
from gtcrn_bench.datasets.vctk_demand import DATASHARE_URL
from gtcrn_bench.datasets.vctk_fetch import fetch_vctk_demand

SHOWN = 10  # names listed in a warning before "and N more"


def _names(names: list[str]) -> str:
    more = f", ... and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


@command("vctk-demand", group=fetch_app)
@user_errors
def fetch_vctk_demand_command(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A folder with the unpacked archives (clean_testset_wav/, noisy_testset_wav/) instead of downloading.",
        ),
    ] = None,
    dest: Annotated[
        Path | None, typer.Option(help="Where the 16 kHz set goes (default: <store home>/data/vctk-demand).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help=f"Where the two zip archives are (default: {DATASHARE_URL}; file:// works).")
    ] = None,
    keep_archives: Annotated[bool, typer.Option(help="Keep the downloaded zip archives in DEST/archives.")] = False,
) -> None:
    """Fetch the VoiceBank+DEMAND test set (824 pairs).

    From Edinburgh DataShare 10283/2791, resampled to 16 kHz.

    Re-running skips finished work and resumes an interrupted download or conversion.
    """
    result = fetch_vctk_demand(dest, source=source, base_url=base_url, keep_archives=keep_archives)
    if result.already_complete:
        console.print(f"[green]ok[/green] already fetched: {result.pairs} pairs in {result.dest}")
        return
    for name, info in result.archives.items():
        console.print(f"downloaded {name}: {info['bytes']} bytes, sha256 {info['sha256']} (recorded, not verified)")
    if result.unmatched:
        console.print(
            f"[yellow]warning:[/yellow] {len(result.unmatched)} file(s) without a counterpart, "
            f"left out of the manifest: {_names(result.unmatched)}"
        )
    if result.full_scale:
        console.print(
            f"[yellow]warning:[/yellow] {len(result.full_scale)} file(s) reach PCM16 full scale (clipped): "
            f"{_names(result.full_scale)}"
        )
    console.print(f"[green]ok[/green] {result.pairs} pairs at 16 kHz in {result.dest} (manifest.csv, fetch.json)")
