"""``gtcrn-bench export-onnx``: the streaming GTCRN as a frame-by-frame ONNX graph, with a JSON sidecar.

The ONNX machinery is imported when the command runs, so the CLI works without the ``onnx`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gtcrn_bench.cli.app import command, console, user_errors


def _error(value: float | None) -> str:
    """A max abs error from the sidecar; None is how JSON records a difference involving NaN or Inf."""
    return "non-finite" if value is None else f"{value:.2g}"


@command("export-onnx")
@user_errors
def export_onnx_command(
    checkpoint: Annotated[str, typer.Option(help="Checkpoint alias (vctk, dns3, dns3-stream) or path.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The ONNX file to write; OUT.json gets the sidecar.")],
    exporter: Annotated[str, typer.Option(help="legacy (TorchScript; fastest graph) or dynamo.")] = "legacy",
    variant: Annotated[
        str, typer.Option(help="export (module arranged for a fast graph) or stream (models/stream.py as is).")
    ] = "export",
    simplifier: Annotated[str, typer.Option(help="Graph clean-up: onnxslim, onnxsim or none.")] = "onnxslim",
    opset: Annotated[int | None, typer.Option(help="ONNX opset (default 17 legacy, 18 dynamo).")] = None,
) -> None:
    """Export a checkpoint as a streaming ONNX graph.

    The graph has the published interface (mix, conv/tra/inter caches; float32, static).

    The graph is checked with onnx.checker and against the interface, and its
    outputs are compared frame by frame with the PyTorch streaming model; the
    sidecar records checkpoint sha256, versions, exporter, opset, node count
    and those errors. A graph whose output turns NaN or Inf is refused (exit
    status 2), naming the first frame where it did; nothing is written.
    """
    from gtcrn_bench.onnx.export import ExportOptions, export_onnx

    options = ExportOptions(exporter=exporter, variant=variant, simplifier=simplifier, opset=opset)
    result = export_onnx(checkpoint, out, options)
    graph, check = result.info["onnx"], result.info["check_vs_pytorch_stream"]
    console.print(
        f"[green]wrote[/green] {result.path} ({graph['nodes']} nodes, opset {graph['opset']}, "
        f"{options.exporter} exporter, {options.variant} module, clean-up: {options.simplifier})",
        highlight=False,
    )
    errors = ", ".join(f"{k} {_error(v)}" for k, v in check["max_abs_error"].items())
    console.print(
        f"max abs error vs PyTorch streaming model over {check['frames']} frames of {check['probe']}: {errors}; "
        f"waveform {_error(check['waveform']['max_abs'])}",
        highlight=False,
    )
    console.print(f"sidecar: {result.sidecar}", highlight=False)
