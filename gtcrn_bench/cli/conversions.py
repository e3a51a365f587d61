"""``gtcrn-bench conversions``: every deployment target checked for numbers, quality and speed; exit 1 on a FAIL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gtcrn_bench.cli.app import app, console, err_console, user_errors
from gtcrn_bench.files import atomic_write_text, write_json


@app.command("conversions")
@user_errors
def conversions_command(
    checkpoint: Annotated[
        str, typer.Option(metavar="NAME", help="Checkpoint the targets are built from (alias or path).")
    ] = ("dns3-stream"),
    reference_checkpoint: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Checkpoint of the float32 PyTorch reference (default: --checkpoint)."),
    ] = None,
    targets: Annotated[str | None, typer.Option(metavar="LIST", help="Comma-separated targets (default: all).")] = None,
    data: Annotated[Path | None, typer.Option(metavar="DIR", help="Folder with clean/ and noisy/ pairs.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, metavar="N", help="Use the first N pairs.")] = None,
    calibration: Annotated[
        str | None,
        typer.Option(metavar="DIR", help="Calibration audio folder for int8 (default: --data), or 'silence'."),
    ] = None,
    latency_frames: Annotated[int, typer.Option(min=10, metavar="N", help="Frames timed per target.")] = 2000,
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write everything measured as JSON.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", metavar="FILE", help="Write the table and a quality-vs-speed plot.")
    ] = None,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown", metavar="FILE", help="Write the table as Markdown.")
    ] = None,
) -> None:
    """Build each conversion target from the checkpoint, check it against the float32 PyTorch streaming model.

    Per target: max abs error and SNR on the spectrum and the waveform over
    every frame of the pairs, drift over >= 10,000 frames, ΔPESQ-WB, ΔSTOI and
    ΔDNSMOS-OVRL against float32 with paired 95 % CIs, per-frame median and
    p99 time interleaved with the published ONNX (1 thread), streams per core,
    and the time GTCRN's 445,310 MACs per frame take at this core's measured
    peak. A target FAILs on a named check; the exit status is then 1.
    """
    from gtcrn_bench.conversions.evaluate import Settings, run_conversions
    from gtcrn_bench.conversions.report import COLUMNS, fastest_within_float32, html_page, markdown, row_cells, to_dict
    from gtcrn_bench.convert.targets import TARGETS

    names = tuple(t.strip() for t in targets.split(",")) if targets else tuple(TARGETS)
    settings = Settings(
        checkpoint=checkpoint,
        reference_checkpoint=reference_checkpoint,
        targets=names,
        data=data,
        limit=limit,
        calibration=calibration,
        latency_frames=latency_frames,
    )
    result = run_conversions(settings, progress=lambda stage: err_console.print(f"[dim]{escape(stage)}[/dim]"))
    table = Table(title=f"Conversions of {checkpoint}")
    for column in COLUMNS:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*(escape(c) for c in row_cells(row)))
    # 18 columns: wider than most terminals; rendered at >= 240 columns, never squashed (print(width=) cannot
    # exceed the console's own width, and a pipe's is 80)
    Console(width=max(console.width, 240), force_terminal=console.is_terminal).print(table)
    if json_out is not None:
        write_json(json_out, to_dict(result))
    if markdown_out is not None:
        atomic_write_text(markdown_out, markdown(result))
    if html_out is not None:
        atomic_write_text(html_out, html_page(result))
    best = fastest_within_float32(result)
    if best is not None:
        console.print(
            f"fastest within float32 tolerance: {best.target}, {best.latency['ratio']:.2f}x the published ONNX"
        )
    for row in result.rows:
        for failure in row.failures():
            err_console.print(f"[red]FAIL[/red] {escape(row.target)}: {escape(failure)}", highlight=False)
    if not result.passed:
        raise typer.Exit(1)
