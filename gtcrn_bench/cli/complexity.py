"""``gtcrn-bench complexity``: MACs under a named convention and parameter counts, of a runner or an ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.complexity.conventions import CONVENTIONS, PAPER_FRAMES
from gtcrn_bench.complexity.request import DEFAULT_RUNNER, countable_for, default_convention
from gtcrn_bench.files import write_json
from gtcrn_bench.runners.registry import parse_params
from gtcrn_bench.stft import FRAMES_PER_SECOND

if TYPE_CHECKING:  # the counter imports torch: loaded when the command runs, not at CLI start-up
    from gtcrn_bench.complexity.crosscheck import ToolCount
    from gtcrn_bench.complexity.measurement import Complexity


def _mega(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ({value / 1e6:.2f} M)"


def _rate(result: Complexity) -> str:
    if result.convention == "ptflops-0.7":
        return f"{PAPER_FRAMES} frames = 1 s (the STFT of 16,000 samples, the paper's second)"
    return "frame rate unknown" if result.frames_per_second is None else f"{result.frames_per_second:g} frames/s"


def _summary(result: Complexity) -> Table:
    counted = (
        f"offline PyTorch module, {result.frames} frames"
        if result.convention == "ptflops-0.7"
        else f"one streaming frame ({'ONNX graph' if result.source == 'onnx' else 'PyTorch module'})"
    )
    params = result.params
    table = Table(title=f"Complexity of {result.model}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("convention", f"{result.convention}: {CONVENTIONS[result.convention].summary}"),
        ("counted", counted),
        ("MACs", _mega(result.macs)),
        ("MACs per frame", _mega(result.macs_per_frame)),
        ("MACs per second", f"{_mega(result.macs_per_second)}, {_rate(result)}"),
        ("parameters", f"{params.total:,}" + (f" ({params.note})" if params.note else "")),
    ]
    if params.trainable is not None:
        rows.append(("trainable", f"{params.trainable:,}"))
        rows.append(("frozen", f"{params.frozen:,} ({', '.join(params.frozen_tensors) or 'none'})"))
        rows.append(("buffers", f"{params.buffers:,} (BatchNorm statistics)"))
    rows += [("uncounted", ", ".join(result.count.uncounted) or "nothing")]
    rows += [("note", note) for note in result.count.notes]
    for row in rows:
        table.add_row(*row)
    return table


def _by_module(result: Complexity) -> Table:
    table = Table(title="Parameters per module")
    for column in ("module", "total", "trainable"):
        table.add_column(column, justify="left" if column == "module" else "right")
    for name, counts in result.params.by_module.items():
        table.add_row(name, f"{counts['total']:,}", f"{counts['trainable']:,}")
    return table


def _layers(result: Complexity) -> Table:
    table = Table(title=f"MACs per layer ({result.convention})")
    for column in ("layer", "op", "calls", "MACs", "share", "params"):
        table.add_column(column, justify="left" if column in ("layer", "op") else "right")
    for row in result.count.layers:
        share = f"{100 * row.macs / result.macs:.2f}%" if result.macs else "-"
        table.add_row(row.name or "(model)", row.op, str(row.calls), f"{row.macs:,}", share, f"{row.params:,}")
    return table


def _print_cross_check(rows: list[ToolCount], frames: int) -> None:
    table = Table(title=f"Counters side by side, offline model, {frames} frames")
    for column in ("counter", "version", "MACs", "vs ptflops-0.7 rules", "note"):
        table.add_column(column, justify="right" if column in ("MACs", "vs ptflops-0.7 rules") else "left")
    reference = rows[0].macs
    for row in rows:
        ratio = "-" if row.macs is None or not reference else f"{row.macs / reference:.3f}x"
        macs = "-" if row.macs is None else f"{row.macs:,}"
        table.add_row(row.tool, row.version or "-", macs, ratio, row.note)
    console.print(table)
    for row in rows:
        if row.missed:
            console.print(f"[bold]{row.tool}[/bold] does not count: {', '.join(row.missed)}", highlight=False)


@command("complexity")
@user_errors
def complexity_command(
    runner: Annotated[
        str | None, typer.Option("--runner", "-r", help=f"Runner to count (default {DEFAULT_RUNNER}).")
    ] = None,
    onnx: Annotated[
        str | None, typer.Option("--onnx", help="Count this ONNX graph (path or alias, e.g. published-onnx).")
    ] = None,
    frames: Annotated[
        int | None, typer.Option(help=f"Offline input frames for ptflops-0.7 (default {PAPER_FRAMES} = 1 s).")
    ] = None,
    convention: Annotated[
        str | None,
        typer.Option(help="ptflops-0.7 or exact (default: ptflops-0.7 for PyTorch models, exact for ONNX graphs)."),
    ] = None,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="Show (and write) MACs per module or node.")] = False,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the figures as JSON.")] = None,
    check: Annotated[
        bool, typer.Option("--cross-check", help="Also run the installed ptflops and fvcore; list what they skip.")
    ] = False,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="Runner parameter key=value (repeatable)."),
    ] = None,
    steps_per_second: Annotated[
        float, typer.Option(help="Calls per second of audio of an --onnx graph (GTCRN: 62.5).")
    ] = FRAMES_PER_SECOND,
) -> None:
    """Count MACs and parameters of a runner's model.

    ptflops-0.7 reproduces the published 33.0 MMACs/s (the offline model over
    63 frames, one second of audio); exact is the true cost of one streaming
    frame, times 62.5 frames/s. ONNX graphs are counted under exact only.
    """
    from gtcrn_bench.complexity.crosscheck import cross_check
    from gtcrn_bench.complexity.measurement import measure

    countable = countable_for(runner, onnx, parse_params(param or []), steps_per_second)
    name = convention or default_convention(countable)
    if name == "exact" and frames is not None:
        console.print("note: exact counts one streaming frame; --frames applies to ptflops-0.7 and --cross-check")
    n_frames = frames or PAPER_FRAMES
    result = measure(countable, name, n_frames)
    console.print(_summary(result))
    if result.params.by_module:
        console.print(_by_module(result))
    if per_layer:
        console.print(_layers(result))
    out: dict[str, Any] = result.to_dict(per_layer=per_layer)
    if check:
        rows = cross_check(countable, n_frames)
        _print_cross_check(rows, n_frames)
        out["cross_check"] = {"frames": n_frames, "counters": [row.to_dict() for row in rows]}
    if json_out is not None:
        write_json(json_out, out)
        console.print(f"wrote {json_out}", highlight=False)
