"""``gtcrn-bench verify``: the conversion regression check (errors per stage, latency against a reference).

The ONNX machinery is imported when the command runs, so the CLI works without the ``onnx`` extra.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gtcrn_bench.cli.app import command, console, err_console, user_errors
from gtcrn_bench.files import write_json
from gtcrn_bench.onnx.tolerances import LATENCY_FRAMES, Tolerances

if TYPE_CHECKING:
    from gtcrn_bench.onnx.verify import VerifyResult

_DEFAULTS = Tolerances()


def _db(value: float) -> str:
    return "inf" if math.isinf(value) and value > 0 else f"{value:.1f}"


def _tables(result: VerifyResult) -> list[Table]:
    errors = Table(title="Errors against offline PyTorch")
    for column in ("stage", "file", "spectrum max abs", "spectrum SNR dB", "waveform max abs", "waveform SNR dB"):
        errors.add_column(column)
    for e in result.errors:
        spec, wave = e.spectrum, e.waveform
        errors.add_row(
            e.stage, e.file, f"{spec.max_abs:.3g}", _db(spec.snr_db), f"{wave.max_abs:.3g}", _db(wave.snr_db)
        )
    latency = Table(title="Per-frame latency, interleaved in one run")
    for column in ("graph", "nodes", "mean ms", "median ms", "p95 ms", "RTF", "ratio to reference"):
        latency.add_column(column)
    for g in result.latency:
        ratio = "-" if g.ratio_to_reference is None else f"{g.ratio_to_reference:.3f}"
        s = g.stats
        latency.add_row(
            g.stage, str(g.nodes), f"{s.mean_ms:.3f}", f"{s.median_ms:.3f}", f"{s.p95_ms:.3f}", f"{s.rtf:.4f}", ratio
        )
    return [errors, latency]


@command("verify")
@user_errors
def verify_command(
    checkpoint: Annotated[str, typer.Option(help="Checkpoint alias (vctk, dns3, dns3-stream) or path.")],
    files: Annotated[
        list[Path] | None, typer.Argument(help="Audio files (default: the published mix.wav, else generated noise).")
    ] = None,
    reference_onnx: Annotated[
        str | None, typer.Option(help="Reference graph (alias, e.g. published-onnx, or path): errors and speed.")
    ] = None,
    onnx_path: Annotated[
        Path | None, typer.Option("--onnx", help="Verify this exported graph instead of exporting the checkpoint now.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Write the full result as JSON.")
    ] = None,
    tol_spectrum: Annotated[float, typer.Option(help="Max abs error allowed on the spectrum.")] = _DEFAULTS.spectrum,
    tol_waveform: Annotated[float, typer.Option(help="Max abs error allowed on the waveform.")] = _DEFAULTS.waveform,
    max_slowdown: Annotated[
        float, typer.Option(help="Allowed per-frame time of the export over the reference's (median ratio).")
    ] = _DEFAULTS.slowdown,
    latency_frames: Annotated[int, typer.Option(min=1, help="Frames timed per graph.")] = LATENCY_FRAMES,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 1,
    exporter: Annotated[str, typer.Option(help="Exporter when exporting now: legacy or dynamo.")] = "legacy",
    variant: Annotated[str, typer.Option(help="Module exported now: export or stream.")] = "export",
    simplifier: Annotated[str, typer.Option(help="Clean-up when exporting now: onnxslim, onnxsim, none.")] = "onnxslim",
) -> None:
    """Check that offline -> streaming -> ONNX kept the numbers.

    Numbers and speed are checked; exit status 1 when a check fails.

    Every stage is compared with offline PyTorch on the spectrum and the
    waveform (a stage whose output holds NaN or Inf fails, naming the first
    such frame); the ONNX graphs are timed per frame in this run, interleaved
    in turns of 10 frames each, every turn opened by one untimed call.
    Default tolerances: spectrum 1e-4, waveform 1e-5 (float32 round-off of
    these conversions is ~1e-5 and ~1e-7), slowdown 1.25x the reference.
    """
    from gtcrn_bench.onnx.export import ExportOptions
    from gtcrn_bench.onnx.verify import verify

    result = verify(
        checkpoint,
        files or None,
        reference_onnx=reference_onnx,
        onnx_path=onnx_path,
        tolerances=Tolerances(tol_spectrum, tol_waveform, max_slowdown),
        export_options=ExportOptions(exporter=exporter, variant=variant, simplifier=simplifier),
        latency_frames=latency_frames,
        threads=threads,
    )
    for table in _tables(result):
        console.print(table)
    if json_out is not None:
        write_json(json_out, result.to_dict())
    if reference_onnx is None:
        console.print("no --reference-onnx: latency not compared, speed not checked")
    for check in result.checks:
        mark = "[green]ok[/green]  " if check.passed else "[red]FAIL[/red]"
        (console if check.passed else err_console).print(f"{mark} {escape(check.message)}", highlight=False)
    if not result.passed:
        err_console.print(f"[red]verify failed:[/red] {len(result.failures)} of {len(result.checks)} checks failed")
        raise typer.Exit(1)
    console.print(f"[green]verify passed:[/green] all {len(result.checks)} checks")
