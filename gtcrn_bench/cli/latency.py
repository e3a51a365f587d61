"""``gtcrn-bench latency``: per-frame latency, RTF and streams per core of a runner, optionally against another."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gtcrn_bench.cli.app import command, console, user_errors
from gtcrn_bench.files import write_json

if TYPE_CHECKING:
    from gtcrn_bench.latency.compare import Comparison

STAT_COLUMNS = ("mean", "p50", "p90", "p95", "p99", "max", "std")


def _table(stats: dict[str, Any]) -> Table:
    title = f"{escape(stats['runner'])} ({stats['kind']}): ms per call; RTF = mean / the runner's own hop"
    table = Table(title=title, padding=(0, 1), collapse_padding=True)
    for column in ("", "hop", *STAT_COLUMNS, "RTF"):
        # figures are never cut short ("0.08…" on an 80-column terminal): a narrow console folds the title instead
        table.add_column(column, justify="left" if not column else "right", no_wrap=True, min_width=len(column))
    rows = [("model", "")]
    if stats["step_timed"] != stats["timed"]:
        rows.append(("step", "step_"))
    for label, prefix in rows:
        cells = [f"{stats[f'{prefix}{c}_ms']:.4g}" for c in STAT_COLUMNS]
        table.add_row(label, f"{stats[f'{prefix}hop_ms']:.4g}", *cells, f"{stats[f'{prefix}rtf']:.4f}")
    return table


def _print_result(stats: dict[str, Any]) -> None:
    console.print(_table(stats))
    lines = [f"model = {stats['timed']}"]
    if stats["step_timed"] != stats["timed"]:
        lines.append(f"step = the whole frame step, {stats['step_timed']}")
    if stats["streams_per_core"] is not None:
        lines.append(f"streams per core (whole step, {stats['threads']} thread(s) each): {stats['streams_per_core']}")
    lines.append(f"thread settings read back: {json.dumps(stats['thread_settings'])}")
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def _print_conditions(conditions: dict[str, Any], stats: dict[str, Any]) -> None:
    cpu = conditions["cpu"]
    load = ", ".join(f"{v:.2f}" for v in conditions["load_average_1_5_15"] or [])
    timed = f"{stats['frames']} frames after {stats['warmup']} warm-up, in turns of {stats['turn_frames']} per runner"
    if stats["kind"] == "offline":
        timed = f"{stats['frames']} whole-file calls after one warm-up"
    console.print(
        f"{timed}; perf_counter_ns, GC paused; "
        f"CPU {cpu['model']} ({conditions['usable_cores']} usable cores, {cpu['reported_mhz']} MHz reported), "
        f"frequency policy: {cpu['frequency_policy'].get('governor')}; load average {load}; "
        f"torch {conditions['versions']['torch']}, onnxruntime {conditions['versions']['onnxruntime']}",
        highlight=False,
        soft_wrap=True,
    )


def _print_ratios(comparison: Comparison, key: str) -> None:
    """``key``'s ratios to the reference: the model call, and the whole step when it is timed apart."""
    ratios = comparison.ratios[key]
    pair = (comparison.results[key], comparison.results[comparison.reference])
    rows = [("model", ratios.model)]
    if any(r.stats["step_timed"] != r.stats["timed"] for r in pair):
        rows.append(("whole step", ratios.step))
    for label, ci in rows:
        console.print(
            f"{escape(key)} / {escape(comparison.reference)}, {label}: mean ratio {ci.ratio:.3f} "
            f"({100 * ci.confidence:g}% CI {ci.low:.3f} to {ci.high:.3f}, bootstrap over {ci.blocks} blocks "
            f"of {ci.block_frames} paired calls); median ratio {ci.median_ratio:.3f}",
            highlight=False,
        )


@command("latency")
@user_errors
def latency_command(
    runner: Annotated[str, typer.Option("--runner", "-r", help="Runner name, or published-onnx (an alias).")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="Runner parameter key=value (repeatable)."),
    ] = None,
    frames: Annotated[int, typer.Option(min=2, help="Frames timed per runner (offline runners: see --repeats).")] = (
        2000
    ),
    warmup: Annotated[int, typer.Option(min=0, help="Untimed frames before timing.")] = 200,
    threads: Annotated[
        int, typer.Option(min=1, help="Threads for torch (intra-op; inter-op where still allowed) and onnxruntime.")
    ] = 1,
    repeats: Annotated[int, typer.Option(min=2, help="Whole-file calls timed for offline runners.")] = 5,
    audio: Annotated[
        Path | None, typer.Option(help="Speech whose frames feed the runners (default: the store's test-mix).")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            help="Runner to time in the same run, NAME or NAME:key=value,key=value (repeatable). The first one is "
            "the reference: -r and every further --compare get their ratio to it. The text labels the runner, "
            "so one runner can be given twice with other parameters."
        ),
    ] = None,
    compare_param: Annotated[
        list[str] | None,
        typer.Option(help="Parameter key=value of the --compare runner when there is one (repeatable)."),
    ] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the ratio's CI.")] = 0.95,
    json_out: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the figures as JSON.")] = None,
) -> None:
    """Time a runner frame by frame: mean, percentiles, RTF.

    Both the model call and the whole frame step are timed.

    RTF is the mean time over the runner's own hop (16 ms for GTCRN, 10 ms for
    RNNoise's 48 kHz frames, the whole file for offline runners). Frames come
    from real speech. With --compare, all runners are timed in one run, in
    turns of 10 frames each (every turn opened by one untimed call), and each
    gets its ratio of means to the first --compare with a block-bootstrap
    confidence interval.

    Example, the export and the eager PyTorch module against the published graph:
    -r gtcrn-onnx -p checkpoint=dns3-stream --compare published-onnx --compare gtcrn-stream:engine=eager
    """
    from gtcrn_bench.latency.request import LatencyRequest, run_latency
    from gtcrn_bench.runners.registry import parse_params

    request = LatencyRequest(
        runner=runner,
        params=parse_params(param or []),
        compare=list(compare or []),
        compare_params=parse_params(compare_param or []),
        frames=frames,
        warmup=warmup,
        threads=threads,
        repeats=repeats,
        confidence=confidence,
        audio=audio,
    )
    outcome = run_latency(request)
    for result in outcome.results.values():
        _print_result(result.stats)
    if outcome.comparison is not None:
        for key in outcome.comparison.ratios:
            _print_ratios(outcome.comparison, key)
    _print_conditions(outcome.figures["conditions"], outcome.figures)
    if json_out is not None:
        write_json(json_out, outcome.figures)
        console.print(f"wrote {json_out}")
