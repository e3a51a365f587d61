"""``gtcrn-bench list``: the registered runners and their parameters; ``--metrics``: the metrics and their cost."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gtcrn_bench import metrics
from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import FrameRunner


def _cost(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.1f}"


def _list_runners() -> None:
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


def _sets_of(name: str) -> str:
    return ", ".join(s for s in metrics.set_names() if name in metrics.resolve_set(s))


def _list_metrics() -> None:
    """Every registered metric with its direction, reference need, declared cost and package; then each set's cost."""
    table = Table(title="Metrics (cost: ms per second of audio, per group, as measured; see docs/metrics-extra.md)")
    for column in ("name", "better", "reference", "cost ms/s", "group", "sets", "package", "installed"):
        table.add_column(column)
    unavailable = metrics.unavailable()
    for name in metrics.names(include_unavailable=True):
        metric = metrics.get(name)
        installed = "yes" if name not in unavailable else f"no: {unavailable[name]}"
        table.add_row(
            name,
            "higher" if metric.higher_is_better else "lower",
            "yes" if metric.needs_reference else "no",
            _cost(metric.cost_ms_per_s),
            metric.group,
            _sets_of(name),
            metric.package,
            escape(installed),
        )
    console.print(table)
    for set_name in metrics.set_names():
        members = metrics.resolve_set(set_name)
        cost = metrics.cost_ms_per_s(members)
        told = "cost not measured" if cost is None else f"at most {cost:.1f} ms per second of audio"
        console.print(f"set {set_name}: {len(members)} metrics, {told}", highlight=False)


@command("list")
@user_errors
def list_command(
    show_metrics: Annotated[
        bool, typer.Option("--metrics", help="List the metrics (direction, cost per second of audio, sets) instead.")
    ] = False,
) -> None:
    """List the runners and their parameters, or with --metrics the metrics and their cost.

    For each registered runner: kind (offline or frame-wise), parameters with defaults, description.
    For each metric: direction, whether it needs the clean reference, cost per second of audio
    (as measured, see docs/metrics-extra.md), its sets (quick, standard, full) and package.
    """
    if show_metrics:
        _list_metrics()
    else:
        _list_runners()
