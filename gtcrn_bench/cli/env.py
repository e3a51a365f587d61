"""``gtcrn-bench env``: the versions and machine facts a bug report or a comparison of runs needs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench import provenance
from gtcrn_bench.cli.app import command, console
from gtcrn_bench.files import write_json


@command("env")
def env(
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Also write it as JSON.")] = None,
) -> None:
    """Show versions, Python and CPU: what a bug report needs.

    Lists gtcrn-bench, Python, the CPU and every package that can change a result.

    The same facts go into each run's metadata.json; this shows them without
    running anything (and without importing torch).
    """
    facts = provenance.installation()
    width = max(map(len, facts["packages"]))
    console.print(f"gtcrn-bench {facts['packages']['gtcrn-bench']}", highlight=False)
    console.print(f"python      {facts['python']} ({facts['platform']})", highlight=False)
    console.print(f"git         {facts['git']['commit'] or 'not a git checkout'}", highlight=False)
    console.print(
        f"cpu         {facts['cpu']['model']} ({facts['cpu']['logical_cores']} logical cores)", highlight=False
    )
    for name, installed in facts["packages"].items():
        if name != "gtcrn-bench":
            console.print(f"  {name:<{width}}  {installed or '-'}", highlight=False)
    if json_out is not None:
        write_json(json_out, facts)
