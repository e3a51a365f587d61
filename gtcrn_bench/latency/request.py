"""One latency measurement as the ``latency`` command asks for it: runners built, timed, figures assembled.

The command line only parses options and prints; what is built, timed and
written as JSON is decided here, so scripts get the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency.compare import Comparison, compare_runners
from gtcrn_bench.latency.conditions import conditions
from gtcrn_bench.latency.measure import OFFLINE_REPEATS, LatencyResult, measure_runner
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import RunnerSpec
from gtcrn_bench.runners.threads import set_torch_threads


@dataclass(frozen=True)
class LatencyRequest:
    """What to time: ``runner`` (a name or alias) with ``params``, and the ``compare`` runners beside it.

    The first ``compare`` entry is the reference of every ratio; ``compare_params`` apply to the compare
    runner when there is exactly one.
    """

    runner: str
    params: dict[str, str] = field(default_factory=dict)
    compare: list[str] = field(default_factory=list)
    compare_params: dict[str, str] = field(default_factory=dict)
    frames: int = 2000
    warmup: int = 200
    threads: int = 1
    repeats: int = OFFLINE_REPEATS
    confidence: float = 0.95
    audio: Path | None = None


@dataclass
class LatencyOutcome:
    """The timings: every runner's result by label, the comparison when there is one, and the JSON figures."""

    results: dict[str, LatencyResult]
    comparison: Comparison | None
    figures: dict[str, Any]


def compare_specs(request: LatencyRequest) -> list[RunnerSpec]:
    """The --compare entries in order, each label distinct from the main runner's and the others'."""
    if request.compare_params and len(request.compare) != 1:
        raise ConfigError(
            "--compare-param applies to a single --compare runner; "
            "with several (or none), write each one's parameters into it: --compare NAME:key=value,key=value"
        )
    specs = [RunnerSpec.parse(text) for text in request.compare]
    seen = {request.runner}
    for spec in specs:
        if spec.label in seen:
            raise ConfigError(
                f"--compare {spec.label}: already timed in this run; compare with a different runner, "
                f"or the same one with other parameters ({spec.name}:key=value)"
            )
        seen.add(spec.label)
    return specs


def timing_audio(path: Path | None) -> tuple[np.ndarray, str]:
    """The speech whose frames feed the runners: ``path``, or the store's published noisy test file."""
    from gtcrn_bench.audio import read_audio
    from gtcrn_bench.store import resolve

    source = path if path is not None else resolve("test-mix")
    return read_audio(source)[0], str(source)


def comparison_figures(
    comparison: Comparison, main: str, specs: list[RunnerSpec], built: dict[str, Runner]
) -> dict[str, Any]:
    """``compare``: the main runner against the reference (the first --compare); ``compare_others``: the rest."""
    reference = comparison.reference
    others = [
        {
            **comparison.to_dict(spec.label),
            "name": spec.name,
            "params": built[spec.label].params(),
            "stats": comparison.results[spec.label].stats,
        }
        for spec in specs[1:]
    ]
    return {
        "compare": {
            **comparison.to_dict(main),
            "reference_stats": comparison.results[reference].stats,
            "reference_params": built[reference].params(),
        },
        "compare_others": others,
    }


def run_latency(request: LatencyRequest) -> LatencyOutcome:
    """Build the runners (threads set first: torch's inter-op count can only be set early), time them, summarise."""
    specs = compare_specs(request)
    wave, source = timing_audio(request.audio)
    set_torch_threads(request.threads)
    main = registry.build(request.runner, request.params, request.threads)
    timing = {"frames": request.frames, "warmup": request.warmup, "audio": wave, "repeats": request.repeats}
    if not specs:
        result = measure_runner(main, threads=request.threads, key=request.runner, **timing)
        figures = {**result.stats, "params": main.params()}
        results, comparison = {request.runner: result}, None
    else:
        built = {request.runner: main} | {
            spec.label: spec.build(request.threads, request.compare_params) for spec in specs
        }
        comparison = compare_runners(
            built, reference=specs[0].label, threads=request.threads, confidence=request.confidence, **timing
        )
        results = comparison.results
        figures = {**results[request.runner].stats, "params": main.params()}
        figures |= comparison_figures(comparison, request.runner, specs, built)
    figures |= {"audio": source, "conditions": conditions()}
    return LatencyOutcome(results, comparison, figures)
