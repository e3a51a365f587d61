"""Running a suite: schedule (runner, utterance) pairs over worker processes and keep every row.

Rows are appended to per_utterance.csv the moment they arrive, so an
interrupted run loses nothing and ``--resume`` computes only the missing pairs.
The tables and the report are built from that file at the end.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from gtcrn_bench import metrics, provenance
from gtcrn_bench.datasets import Dataset, open_dataset
from gtcrn_bench.errors import ConfigError, GtcrnBenchError, InputError
from gtcrn_bench.files import write_json
from gtcrn_bench.runners.threads import thread_environment
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.cache import default_cache_dir
from gtcrn_bench.suite.config import LatencyConfig, Suite, load_suite, resolve_suite
from gtcrn_bench.suite.latency_stage import run_latency_stage
from gtcrn_bench.suite.worker import WorkerSetup, build_entry, evaluate, init_worker

RESULTS_DIR = Path("results")
NO_REFERENCE = "needs the clean reference; this dataset has none (reference-free)"
ENVIRONMENT_SUMMARY = ("python", "platform", "git", "packages", "cpu")


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices of one ``gtcrn-bench run``."""

    suite_path: Path  # a path, or the name of a packaged suite (``vctk``)
    data: Path | None = None
    out: Path | None = None
    jobs: int = 1
    limit: int | None = None
    resume: bool = False
    latency: bool = True  # False: --no-latency, whatever the suite says
    latency_frames: int | None = None  # --latency-frames: overrides (or turns on) the suite's latency stage


@dataclass(frozen=True)
class MetricPlan:
    """The metrics a run computes, and those it leaves out with the reason (both recorded in metadata.json).

    ``unavailable``: metrics of the default list whose package is missing here
    (a suite that names its metrics is refused at load time instead).
    ``skipped``: reference metrics on a reference-free dataset, an expected
    omission rather than an error on every row.
    """

    names: list[str]
    unavailable: dict[str, str]
    skipped: dict[str, str]


@dataclass(frozen=True)
class RunOutcome:
    """Where the results are and how the run went."""

    out_dir: Path
    rows: int
    computed: int
    errors: int
    interrupted: bool
    wall_s: float


def output_dir(suite: Suite, options: RunOptions) -> Path:
    """``--out``, or for ``--resume`` the latest ``results/<suite>-*``, else a new timestamped folder."""
    if options.out is not None:
        return options.out
    if options.resume:
        previous = sorted(RESULTS_DIR.glob(f"{suite.name}-*"))
        if not previous:
            raise ConfigError(f"--resume: no earlier run of '{suite.name}' under {RESULTS_DIR}/; pass --out DIR")
        return previous[-1]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return RESULTS_DIR / f"{suite.name}-{stamp}"


def with_latency_options(suite: Suite, options: RunOptions) -> Suite:
    """The suite with ``--no-latency`` / ``--latency-frames N`` applied: the command line wins over the file."""
    if not options.latency:
        return suite.model_copy(update={"latency": None})
    if options.latency_frames is not None:
        stage = (suite.latency or LatencyConfig()).model_copy(update={"frames": options.latency_frames})
        return suite.model_copy(update={"latency": stage})
    return suite


def open_suite_dataset(suite: Suite, options: RunOptions) -> Dataset:
    """The suite's dataset; a missing or unusable root is a :class:`ConfigError` naming where it came from.

    The root is ``--data`` when given, else the suite file's ``dataset.root``
    (or, unset, the kind's default location), so the message names that option
    or that file and key.
    """
    try:
        return open_dataset(
            suite.dataset.kind, suite.dataset_root(options.data), manifest=suite.dataset.manifest, limit=options.limit
        )
    except InputError as exc:
        if options.data is not None:
            where = f"--data {options.data}"
        elif suite.dataset.root is not None:
            where = f"{options.suite_path}: dataset.root"
        else:
            where = f"{options.suite_path}: dataset.root (not set: the kind's default; set it or pass --data DIR)"
        raise ConfigError(f"{where}: {exc}") from exc


def plan_metrics(suite: Suite, suite_path: Path, references: bool) -> MetricPlan:
    """Which metrics to compute: the suite's list or named set (omitted: the standard set), minus reference
    metrics when the dataset has no references. A named set computes its installed members and announces
    the others; a list was checked to be installed. :class:`ConfigError` when nothing is left to compute."""
    named = metrics.resolve_set(suite.metrics)
    missing = {} if isinstance(suite.metrics, list) else metrics.unavailable()
    unavailable = {n: r for n, r in missing.items() if n in named or suite.metrics == metrics.registry.FULL_SET}
    requested = [n for n in named if n not in unavailable]
    skipped = {} if references else {n: NO_REFERENCE for n in requested if metrics.get(n).needs_reference}
    names = [n for n in requested if n not in skipped]
    if not names:
        reasons = "; ".join(f"{n}: {r}" for n, r in {**skipped, **unavailable}.items())
        raise ConfigError(f"{suite_path}: metrics: none can be computed on this dataset ({reasons})")
    return MetricPlan(names, unavailable, skipped)


def asr_reference(dataset: Dataset, metric_names: list[str]) -> str | None:
    """What the word error metrics of this run compare with (None when the run computes none)."""
    if not {"wer", "cer"} & set(metric_names):
        return None
    if dataset.has_transcripts():
        return "the dataset's transcripts (PocketSphinx on the clean reference for an utterance without one)"
    return "PocketSphinx's transcription of the clean reference (the dataset has no transcripts)"


def announce_metrics(plan: MetricPlan, console: Console) -> None:
    """Say once, before any work, which metrics will not be computed and why."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in plan.unavailable.items():
        by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        console.print(
            f"[yellow]warning:[/yellow] not computing {', '.join(names)}: {escape(reason)}",
            highlight=False,
            soft_wrap=True,
        )
    if plan.skipped:
        console.print(
            f"reference-free dataset (no clean references): computing {', '.join(plan.names)}; "
            f"not computed: {', '.join(plan.skipped)}",
            highlight=False,
            soft_wrap=True,
        )


def preflight_runners(suite: Suite, suite_path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Build every runner once before any work, so a missing checkpoint stops the run at once, clearly.

    Returns each runner's identity (name, parameters, model sha256) and, when the
    suite asks for it, its complexity entry.
    """
    from gtcrn_bench.complexity import runner_figures

    identities, complexity = {}, {}
    for i, entry in enumerate(suite.runners):
        try:
            runner = build_entry(entry, suite.threads)  # as the workers build it: the same identity
        except GtcrnBenchError as exc:
            raise ConfigError(f"{suite_path}: runners[{i}] ({entry.key}) cannot be built: {exc}") from exc
        identities[entry.key] = runner.describe()
        if suite.complexity and not runner.reference_row:
            found = runner_figures(runner)
            if found is not None:
                complexity[entry.key] = found
    return identities, complexity


def new_metadata(suite_path: Path, suite: Suite, extra: dict[str, Any]) -> dict[str, Any]:
    """A first run's metadata: environment, suite text, runner identities (model sha256), dataset hashes."""
    return {
        "suite_file": str(resolve_suite(suite_path)),
        "suite_text": resolve_suite(suite_path).read_text(),  # as written; "suite" below has includes merged
        "reference_row": suite.reference_key,
        "suite": suite.model_dump(),
        "environment": provenance.environment(),
        **extra,
    }


def resumed_metadata(first: dict[str, Any], jobs: int) -> dict[str, Any]:
    """The first run's metadata kept as it was, with this resumption appended to its ``resumed`` list.

    The rows of a resumed run come from both sessions, so both environments are
    recorded: the first in full, each later one as a summary (time, jobs,
    Python, OS, git state, packages, CPU).
    """
    env = provenance.environment()
    entry = {"time_utc": utc_now(), "jobs": jobs, "environment": {k: env[k] for k in ENVIRONMENT_SUMMARY}}
    return {**first, "resumed": [*first.get("resumed", []), entry]}


def run_metadata(
    options: RunOptions, suite: Suite, out_dir: Path, facts: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """This session's metadata.json: a resumed run keeps the first session's record and appends itself
    to ``resumed``; a new run gets a new record with ``facts()`` (runners, dataset, metrics)."""
    meta_path = out_dir / "metadata.json"
    if options.resume and meta_path.exists():
        return resumed_metadata(json.loads(meta_path.read_text()), options.jobs)
    return new_metadata(options.suite_path, suite, {"started_utc": utc_now(), "jobs": options.jobs, **facts()})


def write_metadata(out_dir: Path, meta: dict[str, Any]) -> None:
    """metadata.json, replaced atomically."""
    write_json(out_dir / "metadata.json", meta)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _execute(
    pairs: list[tuple[str, Any]], setup: WorkerSetup, jobs: int, writer: rowfile.RowWriter, console: Console
) -> None:
    """Evaluate the pairs, in this process (jobs == 1) or a spawn pool, writing each row as it arrives."""
    with _progress(console) as bar:
        task = bar.add_task("evaluating", total=len(pairs))

        def record(row: dict[str, Any]) -> None:
            writer.write(row)
            bar.advance(task)

        if jobs == 1:
            init_worker(setup)
            for key, utt in pairs:
                record(evaluate(key, utt))
            return
        # spawn, not fork: the parent has imported torch, whose thread pools do not survive a fork safely;
        # workers inherit the thread limits from the environment before they load any library
        thread_environment(setup.threads)
        context = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(jobs, mp_context=context, initializer=init_worker, initargs=(setup,)) as pool:
            futures = [pool.submit(evaluate, key, utt) for key, utt in pairs]
            try:
                for future in cf.as_completed(futures):
                    record(future.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


def run_suite(options: RunOptions, console: Console | None = None) -> RunOutcome:
    """Run (or resume) a suite and write per_utterance.csv, summary.csv, report.md and metadata.json."""
    from gtcrn_bench.suite.report import write_tables

    console = console or Console(stderr=True)
    started = time.perf_counter()
    suite = with_latency_options(load_suite(options.suite_path), options)
    dataset = open_suite_dataset(suite, options)
    dataset.verify()
    utterances = dataset.utterances()
    plan = plan_metrics(suite, options.suite_path, dataset.has_references())
    metric_names = plan.names
    identities, complexity = preflight_runners(suite, options.suite_path)

    out_dir = output_dir(suite, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    fieldnames = rowfile.columns(metric_names)
    csv_path = out_dir / "per_utterance.csv"
    kept = rowfile.read_rows(csv_path, fieldnames) if options.resume else []
    if csv_path.exists() and not options.resume and options.out is not None:
        raise ConfigError(f"{csv_path} exists: pass --resume to finish that run, or choose another --out")
    done = {(r["runner"], r["utterance"]) for r in kept}
    pairs = [(e.key, u) for u in utterances for e in suite.runners if (e.key, u.name) not in done]
    write_metadata(
        out_dir,
        run_metadata(
            options,
            suite,
            out_dir,
            lambda: {
                "runners": identities,
                "dataset": dataset.describe(),
                "metrics": metrics.provenance(metric_names),
                "metrics_unavailable": plan.unavailable,
                "metrics_skipped": plan.skipped,
                "asr_reference": asr_reference(dataset, metric_names),
                "latency": suite.latency.model_dump() if suite.latency else None,  # after --no-latency etc.
            },
        ),
    )
    if complexity:
        write_json(out_dir / "complexity.json", complexity)
    console.print(f"{suite.name}: {len(utterances)} utterances x {len(suite.runners)} runners -> {out_dir}")
    for notice in dataset.notices():
        console.print(f"[yellow]note[/yellow]: {notice}", highlight=False)
    announce_metrics(plan, console)
    if asr_reference(dataset, metric_names):
        console.print(f"wer/cer against {asr_reference(dataset, metric_names)}", highlight=False)
    if kept:
        console.print(f"resuming: {len(kept)} rows kept, {len(pairs)} to compute")

    setup = WorkerSetup(
        runners={e.key: e for e in suite.runners},
        dataset=dataset,
        metric_names=metric_names,
        cache_dir=default_cache_dir(),
        threads=suite.threads,
    )
    writer = rowfile.RowWriter(csv_path, fieldnames, kept)
    interrupted = False
    try:
        _execute(pairs, setup, max(1, min(options.jobs, len(pairs) or 1)), writer, console)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        writer.close()
    all_rows = rowfile.read_rows(csv_path, fieldnames)
    errors = sum(bool(r["error"]) for r in all_rows)
    if interrupted:
        console.print(
            f"[yellow]interrupted[/yellow]: {len(all_rows)} rows saved in {csv_path}; "
            f"finish with: gtcrn-bench run {options.suite_path} --out {out_dir} --resume"
        )
    else:
        if suite.latency is not None:
            console.print(f"timing {len(suite.runners)} runners, {suite.latency.frames} frames each, interleaved")
            run_latency_stage(suite, dataset, utterances, out_dir)
        write_tables(out_dir, suite, metric_names, console, dataset)
    return RunOutcome(
        out_dir, len(all_rows), len(all_rows) - len(kept), errors, interrupted, time.perf_counter() - started
    )


def utc_now() -> str:
    """ISO timestamp for metadata."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
