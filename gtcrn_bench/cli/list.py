"""``gtcrn-bench list``: the registered runners and their parameters."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import FrameRunner


@command("list")
@user_errors
def list_runners() -> None:
    """List the runners and their parameters.

    For each registered runner: kind (offline or frame-wise), parameters with defaults, description.
    """
    table = Table(title="Runners")
    for column in ("name", "kind", "parameters", "description"):
        table.add_column(column)
    for name, cls in registry.available().items():
        kind = "frame-wise" if issubclass(cls, FrameRunner) else "offline"
        params = ", ".join(
            f"{p.name}: {p.type_name}" + ("" if p.required else f" = {p.default!r}") for p in registry.params(cls)
        )
        aliases = "".join(
            f"\nalias {a}: {', '.join(f'{k}={v}' for k, v in fixed.items())}" for a, fixed in cls.aliases.items()
        )
        table.add_row(name, kind, params or "-", cls.description + aliases)
    console.print(table)
    for module, reason in registry.unavailable().items():
        console.print(f"[yellow]not loaded[/yellow] {escape(f'{module}: {reason}')}")
