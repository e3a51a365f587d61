"""``gtcrn-bench enhance``: run one runner over audio files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import track

from gtcrn_bench.audio import SAMPLE_RATE, read_audio, write_audio
from gtcrn_bench.cli.app import command, console, err_console, user_errors
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.runners import registry

SUBTYPES = {"PCM_16": "PCM_16", "PCM16": "PCM_16", "FLOAT": "FLOAT", "PCM_24": "PCM_24"}


@command()
@user_errors
def enhance(
    inputs: Annotated[list[Path], typer.Argument(help="Noisy audio files (any rate; mono unless --downmix).")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", metavar="DIR", help="Where DIR/<input file name> is written.")
    ],
    runner: Annotated[str, typer.Option("--runner", "-r", help="Runner name (see `gtcrn-bench list`).")] = (
        "gtcrn-offline"
    ),
    checkpoint: Annotated[
        str | None, typer.Option(help="Checkpoint alias (vctk, dns3, dns3-stream, ...) or path, for runners with one.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="Runner parameter key=value (repeatable)."),
    ] = None,
    subtype: Annotated[str, typer.Option(help="Output sample format: PCM_16 (default), PCM_24 or FLOAT.")] = "PCM_16",
    downmix: Annotated[
        bool, typer.Option(help="Average the channels of multi-channel input instead of refusing it.")
    ] = (False),
) -> None:
    """Enhance audio files with a runner.

    Output is written at 16 kHz.
    Output is aligned with the input: a runner's declared delay (e.g. rnnoise's
    20 ms) is removed. Other sample rates are resampled to 16 kHz (soxr VHQ) and said so on stderr.
    A file that cannot be read or processed is reported and skipped; the exit
    status is then non-zero.
    """
    if subtype.upper() not in SUBTYPES:
        raise GtcrnBenchError(f"--subtype {subtype}: choose one of PCM_16, PCM_24, FLOAT")
    kwargs = registry.parse_params(param or [])
    if checkpoint is not None:
        kwargs["checkpoint"] = checkpoint
    model = registry.build(runner, kwargs)
    failed = []
    for path in track(inputs, description=f"{runner}", console=err_console, disable=len(inputs) < 2):
        try:
            wave, _ = read_audio(path, downmix=downmix)
            enhanced = model.align_to_input(model.enhance(wave))  # checked: NaN/Inf named, same length
            write_audio(out_dir / path.name, enhanced, SAMPLE_RATE, SUBTYPES[subtype.upper()])
        except GtcrnBenchError as exc:
            reason = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            err_console.print(f"[red]skipped[/red] {escape(reason)}", highlight=False, soft_wrap=True)
            failed.append(path)
    written = len(inputs) - len(failed)
    where = f"into {out_dir}" if written else "; nothing written"
    console.print(f"{written} of {len(inputs)} files enhanced {where}".replace(" ;", ";"))
    if failed:
        raise typer.Exit(1)
