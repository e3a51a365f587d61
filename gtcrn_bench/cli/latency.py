"""``gtcrn-bench latency``: per-frame latency, RTF and streams per core of a runner, optionally against another."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from gtcrn_bench.cli.app import app, console, user_errors
from gtcrn_bench.errors import ConfigError

STAT_COLUMNS = ("mean", "p50", "p90", "p95", "p99", "max", "std")


def _load_audio(path: Path | None) -> tuple[np.ndarray, str]:
    from gtcrn_bench.audio import read_audio
    from gtcrn_bench.store import resolve

    source = path if path is not None else resolve("test-mix")
    return read_audio(source)[0], str(source)


def _table(stats: dict[str, Any]) -> Table:
    table = Table(title=f"{stats['runner']} ({stats['kind']}): ms per call; RTF = mean / the runner's own hop")
    for column in ("", "hop", *STAT_COLUMNS, "RTF"):
        table.add_column(column, justify="left" if not column else "right")
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


@app.command("latency")
@user_errors
def latency_command(
    runner: Annotated[str, typer.Option("--runner", "-r", help="Runner name, or published-onnx (the reference).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Runner parameter key=value (repeatable).")
    ] = None,
    frames: Annotated[int, typer.Option(min=2, help="Frames timed per runner (offline runners: see --repeats).")] = (
        2000
    ),
    warmup: Annotated[int, typer.Option(min=0, help="Untimed frames before timing.")] = 200,
    threads: Annotated[int, typer.Option(min=1, help="torch threads and the runners' onnxruntime threads.")] = 1,
    repeats: Annotated[int, typer.Option(min=2, help="Whole-file calls timed for offline runners.")] = 5,
    audio: Annotated[
        Path | None, typer.Option(help="Speech whose frames feed the runners (default: the store's test-mix).")
    ] = None,
    compare: Annotated[
        str | None, typer.Option(help="Time this runner interleaved with the first (e.g. published-onnx).")
    ] = None,
    compare_param: Annotated[
        list[str] | None, typer.Option(help="Parameter key=value of the --compare runner (repeatable).")
    ] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the ratio's CI.")] = 0.95,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures as JSON.")] = None,
) -> None:
    """Per-frame latency of a runner's model call and of its whole frame step: mean, percentiles, RTF.

    RTF is the mean time over the runner's own hop (16 ms for GTCRN, 10 ms for
    RNNoise's 48 kHz frames, the whole file for offline runners). Frames come
    from real speech; --compare times a second runner frame by frame
    interleaved with the first and reports the ratio of means with a
    block-bootstrap confidence interval.
    """
    from gtcrn_bench.latency.build import build_runner
    from gtcrn_bench.latency.compare import compare_runners
    from gtcrn_bench.latency.conditions import conditions
    from gtcrn_bench.latency.measure import measure_runner
    from gtcrn_bench.runners.registry import parse_params

    wave, source = _load_audio(audio)
    main = build_runner(runner, parse_params(param or []), threads)
    out: dict[str, Any]
    if compare is None:
        result = measure_runner(
            main, frames=frames, warmup=warmup, threads=threads, audio=wave, repeats=repeats, key=runner
        )
        out = {**result.stats, "params": main.params()}
        _print_result(result.stats)
    else:
        if compare == runner:
            raise ConfigError(f"--compare {compare}: compare with a different runner")
        other = build_runner(compare, parse_params(compare_param or []), threads)
        comparison = compare_runners(
            {runner: main, compare: other},
            reference=compare,
            frames=frames,
            warmup=warmup,
            audio=wave,
            threads=threads,
            repeats=repeats,
            confidence=confidence,
        )
        for stats in (comparison.results[runner].stats, comparison.results[compare].stats):
            _print_result(stats)
        ratios = [("model", comparison.model)]
        if any(r.stats["step_timed"] != r.stats["timed"] for r in comparison.results.values()):
            ratios.append(("whole step", comparison.step))
        for label, ci in ratios:
            console.print(
                f"{runner} / {compare}, {label}: mean ratio {ci.ratio:.3f} "
                f"({100 * ci.confidence:g}% CI {ci.low:.3f} to {ci.high:.3f}, bootstrap over {ci.blocks} blocks "
                f"of {ci.block_frames} paired calls); median ratio {ci.median_ratio:.3f}",
                highlight=False,
            )
        out = {
            **comparison.results[runner].stats,
            "params": main.params(),
            "compare": {
                **comparison.to_dict(),
                "reference_stats": comparison.results[compare].stats,
                "reference_params": other.params(),
            },
        }
    env = conditions()
    _print_conditions(env, out)
    out |= {"audio": source, "conditions": env}
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=2, default=str) + "\n")
        console.print(f"wrote {json_out}")
