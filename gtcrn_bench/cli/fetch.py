"""``gtcrn-bench fetch``: the group of commands that put published artefacts in the local store.

Each subcommand lives in its own module, ``fetch_<name>.py``.
"""

from __future__ import annotations

import typer

from gtcrn_bench.cli.app import Commands, app


class FetchCommands(Commands):
    """``fetch``'s subcommands: GTCRN's own models first, then the test set, then the baselines."""

    order = ("models", "vctk-demand", "dtln")


fetch_app = typer.Typer(
    cls=FetchCommands,
    no_args_is_help=True,
    short_help="Get the models, baselines and test set (or copy a mirror).",
    help="Download the published models (sha256-pinned), baselines' weights and the test set, or copy them from a "
    "local mirror (--from).",
)
app.add_typer(fetch_app, name="fetch")
