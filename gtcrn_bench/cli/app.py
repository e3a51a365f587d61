"""The Typer application and the error handling every command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from gtcrn_bench import __version__
from gtcrn_bench.errors import GtcrnBenchError

#: top-level commands in the order a new user needs them (fetch is the first thing anyone runs)
COMMAND_ORDER = ("fetch", "run", "report", "enhance", "list", "latency", "complexity", "verify", "export-onnx")


class Commands(TyperGroup):
    """A group listing its commands in :attr:`order` (the order a user needs them), not in registration order.

    Command modules are imported alphabetically, so registration order is the modules' names' order.
    """

    order: tuple[str, ...] = COMMAND_ORDER

    def list_commands(self, ctx: typer.Context) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: self.order.index(n) if n in self.order else len(self.order))


def argument_label(param: TyperArgument) -> str:
    """``INPUTS...``, ``SUITE``: an argument as git's usage lines write it."""
    label = (param.metavar or param.name or "").upper()
    return f"{label}..." if param.nargs != 1 else label


def option_label(param: TyperOption) -> str:
    """``-o, --out-dir OUT_DIR``, ``--downmix / --no-downmix``: the value named after the option, flags bare."""
    label = ", ".join(sorted(param.opts, key=lambda opt: opt.startswith("--")))  # short form first
    if not (param.is_flag or param.count):
        label += f" {param.metavar or (param.name or '').upper()}"
    if param.secondary_opts:
        label += " / " + ", ".join(param.secondary_opts)
    return label


class PlainCommand(TyperCommand):
    """A command whose help reads like git's.

    typer 0.29 writes each option's Python type after it (``<bool>``,
    ``<list[Path]>``) and arguments as ``{inputs}...``; the help text and the
    default/required notes typer computes are kept, only the labels change.
    """

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        arguments = [argument_label(p) for p in self.get_params(ctx) if isinstance(p, TyperArgument)]
        return [self.options_metavar or "[OPTIONS]", *arguments]

    def format_options(self, ctx: typer.Context, formatter: Any) -> None:  # typer's vendored click HelpFormatter
        for title, kind in (("Arguments", TyperArgument), ("Options", TyperOption)):
            rows = []
            for param in self.get_params(ctx):
                record = param.get_help_record(ctx) if isinstance(param, kind) else None
                if record is not None:
                    label = argument_label(param) if isinstance(param, TyperArgument) else option_label(param)
                    rows.append((label, record[1]))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


app = typer.Typer(
    name="gtcrn-bench",
    cls=Commands,
    help="Benchmark and evaluate GTCRN and lightweight speech-enhancement models: quality, complexity, latency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def show_version(value: bool) -> None:
    """``--version``: the version, then exit (``gtcrn-bench env`` lists the packages that can change a result)."""
    if value:
        typer.echo(f"gtcrn-bench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=show_version,
            is_eager=True,
            help="Show the version and exit (`gtcrn-bench env` lists every package's).",
        ),
    ] = False,
) -> None:
    """Benchmark and evaluate GTCRN and lightweight speech-enhancement models: quality, complexity, latency."""


console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def command(name: str | None = None, *, group: typer.Typer = app) -> Callable[[F], F]:
    """Register a command of ``group`` (default: the top level) with the plain help of :class:`PlainCommand`."""
    return group.command(name, cls=PlainCommand)


def user_errors(func: F) -> F:
    """Turn :class:`GtcrnBenchError` into one red line on stderr and exit status 2 (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GtcrnBenchError as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from exc

    return wrapper  # type: ignore[return-value]
