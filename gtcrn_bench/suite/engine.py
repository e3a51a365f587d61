"""Running a suite: schedule (runner, utterance) pairs over worker processes and keep every row.

Rows are appended to per_utterance.csv the moment they arrive, so an
interrupted run loses nothing and ``--resume`` computes only the missing pairs.
The tables and the report are built from that file at the end.
"""

from __future__ import annotations

import json
import shlex
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.config import LatencyConfig, Suite, load_suite, resolve_suite
from gtcrn_bench.suite.execution import CpuTally, Executor, pair_tasks, run_pairs
from gtcrn_bench.suite.latency_stage import run_latency_stage
from gtcrn_bench.suite.shards import Shard
from gtcrn_bench.suite.worker import WorkerSetup, build_entry, runner_modules

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
    retry_errors: bool = False  # with resume: compute rows that have an error again
    timeout_s: float | None = None  # per pair; None: the suite's timeout_s
    shard: Shard | None = None
    executor: str | None = None  # "local" or "dask"; None: the suite's executor.kind
    scheduler: str | None = None  # a Dask scheduler address; None: the suite's, else an embedded cluster
    tls: tuple[str | None, str | None, str | None] = (None, None, None)  # Dask TLS: CA, certificate, key


#: the options a resumed run takes from the first run's metadata.json (given again, they must agree)
RESUMED_OPTIONS = ("data", "limit", "shard", "executor")


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


def options_record(options: RunOptions, executor: str) -> dict[str, Any]:
    """The options a resumed run must share with this one, as recorded in metadata.json (``run_options``)."""
    return {
        "data": None if options.data is None else str(options.data.resolve()),
        "limit": options.limit,
        "shard": None if options.shard is None else str(options.shard),
        "executor": executor,
        "scheduler": options.scheduler,
    }


def resume_options(options: RunOptions, out_dir: Path) -> RunOptions:
    """``options`` completed from the first run's ``run_options``, so that ``--resume`` alone resumes it.

    An option given again must agree with the recorded one; otherwise the
    resume is refused naming both values (a forgotten ``--limit`` would grow
    the run, another ``--data`` would mix two datasets in one table).
    """
    meta_path = out_dir / "metadata.json"
    if not meta_path.exists():
        return options
    recorded = json.loads(meta_path.read_text()).get("run_options")
    if recorded is None:  # a run from before run_options were recorded: take the options as given
        return options
    given = options_record(options, options.executor or recorded["executor"])
    conflicts = [
        f"--{name} {given[name]} (the first run had {_shown(name, recorded[name])})"
        for name in RESUMED_OPTIONS
        if given[name] is not None and name in recorded and given[name] != recorded[name]
    ]
    if conflicts:
        raise ConfigError(
            f"--resume {out_dir}: {'; '.join(conflicts)}. A resumed run keeps the options recorded in "
            f"{meta_path}: drop them, or start a new run with another --out"
        )
    return replace(
        options,
        data=None if recorded["data"] is None else Path(recorded["data"]),
        limit=recorded["limit"],
        shard=None if recorded["shard"] is None else Shard.parse(recorded["shard"]),
        executor=recorded["executor"],
        scheduler=options.scheduler or recorded.get("scheduler"),
    )


def _shown(name: str, value: Any) -> str:
    """How a recorded option reads in a message: ``--limit 20``, or ``no --limit``."""
    return f"no --{name}" if value is None else f"--{name} {value}"


def resume_command(options: RunOptions, out_dir: Path) -> str:
    """The command that finishes this run, as it can be pasted (everything else comes from metadata.json)."""
    return shlex.join(["gtcrn-bench", "run", str(options.suite_path), "--out", str(out_dir), "--resume"])


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def start_executor(
    options: RunOptions, suite: Suite, setup: WorkerSetup, identities: dict[str, dict[str, Any]], jobs: int
) -> tuple[Executor, dict, int]:
    """The executor of this run, what metadata.json records about it, and how many pairs to keep in flight.

    ``identities``: the runners as the preflight built them, which remote workers must reproduce.
    """
    timeout_s = options.timeout_s or suite.timeout_s
    kind = options.executor or suite.executor.kind
    if kind == "dask":
        from gtcrn_bench.suite.dask_pool import DaskPool, security

        config = suite.executor
        ca, cert, key = (
            given or default
            for given, default in zip(options.tls, (config.tls_ca, config.tls_cert, config.tls_key), strict=True)
        )
        scheduler = options.scheduler or config.scheduler
        pool = DaskPool(setup, identities, jobs, timeout_s, scheduler, security(ca, cert, key))
        return pool, {**pool.describe(), "timeout_s": timeout_s}, 2 * pool.slots()
    from gtcrn_bench.suite.pool import LocalPool

    return LocalPool(setup, jobs, timeout_s), {"kind": "local", "jobs": jobs, "timeout_s": timeout_s}, 2 * jobs


def _execute(
    tasks: Any, total: int, executor: Executor, window: int, writer: rowfile.RowWriter, console: Console
) -> CpuTally:
    """Evaluate the pairs on ``executor``, writing each row as it arrives; the CPU seconds they took."""
    tally = CpuTally()
    with _progress(console) as bar:
        task = bar.add_task("evaluating", total=total)

        def record(row: dict[str, Any]) -> None:
            writer.write(row)
            tally.add(row)
            bar.advance(task)

        try:
            run_pairs(executor, tasks, window, record)
        except KeyboardInterrupt:
            bar.stop()
            raise
    return tally


def run_suite(options: RunOptions, console: Console | None = None) -> RunOutcome:
    """Run (or resume) a suite and write per_utterance.csv, summary.csv, report.md and metadata.json."""
    outcome = _run_suite(options, console or Console(stderr=True))
    if not outcome.interrupted:
        return outcome
    # Ctrl-C stays ignored from the first one to the exit, so a second never interrupts the wind-up
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return outcome


def _run_suite(options: RunOptions, console: Console) -> RunOutcome:
    from gtcrn_bench.suite.report import write_tables

    started_at = time.perf_counter()
    if options.executor not in (None, "local", "dask"):
        raise ConfigError(f"--executor {options.executor}: one of local (worker processes here) or dask")
    if options.retry_errors and not options.resume:
        raise ConfigError("--retry-errors computes the error rows of an earlier run again: it goes with --resume")
    suite = with_latency_options(load_suite(options.suite_path), options)
    out_dir = output_dir(suite, options)
    if options.resume:
        options = resume_options(options, out_dir)
    dataset = open_suite_dataset(suite, options)
    dataset.verify()
    utterances = dataset.utterances()
    if options.shard is not None:
        utterances = options.shard.select(utterances)
    plan = plan_metrics(suite, options.suite_path, dataset.has_references())
    metric_names = plan.names
    identities, complexity = preflight_runners(suite, options.suite_path)

    fieldnames = rowfile.columns(metric_names)
    csv_path = out_dir / "per_utterance.csv"
    kept = rowfile.read_rows(csv_path, fieldnames) if options.resume else []
    if options.retry_errors:
        kept = [r for r in kept if not r["error"]]
    if csv_path.exists() and not options.resume and options.out is not None:
        raise ConfigError(f"{csv_path} exists: pass --resume to finish that run, or choose another --out")
    done = {(r["runner"], r["utterance"]) for r in kept}
    pairs = [(e.key, u) for u in utterances for e in suite.runners if (e.key, u.name) not in done]
    executor_kind = options.executor or suite.executor.kind
    started = None
    if pairs:  # started before any file is written: a refused cluster leaves no half-made results folder
        setup = WorkerSetup(
            runners={e.key: e for e in suite.runners},
            metric_names=metric_names,
            threads=suite.threads,
            runner_modules=runner_modules(suite.runners),
        )
        started = start_executor(options, suite, setup, identities, max(1, min(options.jobs, len(pairs))))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        meta = run_metadata(
            options,
            suite,
            out_dir,
            lambda: {
                "run_options": options_record(options, executor_kind),
                "runners": identities,
                "dataset": dataset.describe(),
                "shard": None if options.shard is None else shard_record(options.shard, utterances),
                "metrics": metrics.provenance(metric_names),
                "metrics_unavailable": plan.unavailable,
                "metrics_skipped": plan.skipped,
                "asr_reference": asr_reference(dataset, metric_names),
                "latency": suite.latency.model_dump() if suite.latency else None,  # after --no-latency etc.
            },
        )
        if started is not None:
            session = meta["resumed"][-1] if options.resume and meta.get("resumed") else meta
            session["executor"] = started[1]
        write_metadata(out_dir, meta)
        if complexity:
            write_json(out_dir / "complexity.json", complexity)
        shard = "" if options.shard is None else f" (shard {options.shard})"
        # soft_wrap: a path or note is one line the terminal may fold, never broken by rich at a space
        console.print(
            f"{suite.name}{shard}: {len(utterances)} utterances x {len(suite.runners)} runners -> {out_dir}",
            soft_wrap=True,
        )
        for notice in dataset.notices():
            console.print(f"[yellow]note[/yellow]: {escape(notice)}", highlight=False, soft_wrap=True)
        announce_metrics(plan, console)
        if asr_reference(dataset, metric_names):
            console.print(f"wer/cer against {asr_reference(dataset, metric_names)}", highlight=False)
        if kept:
            console.print(f"resuming: {len(kept)} rows kept, {len(pairs)} to compute")
        writer = rowfile.RowWriter(csv_path, fieldnames, kept)
    except BaseException:
        if started is not None:
            started[0].stop()
        raise
    interrupted = False
    tally = CpuTally()
    try:
        if started is not None:
            executor, _, window = started
            tally = _execute(pair_tasks(dataset, pairs), len(pairs), executor, window, writer, console)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        writer.close()
    meta["cpu_seconds"] = tally.merged_with(meta.get("cpu_seconds"))
    write_metadata(out_dir, meta)
    all_rows = rowfile.read_rows(csv_path, fieldnames)
    errors = sum(bool(r["error"]) for r in all_rows)
    if interrupted:
        console.print(
            f"[yellow]interrupted[/yellow]: {len(all_rows)} rows saved in {csv_path}; "
            f"finish with: {escape(resume_command(options, out_dir))}",
            soft_wrap=True,
        )
    else:
        if suite.latency is not None:
            console.print(f"timing {len(suite.runners)} runners, {suite.latency.frames} frames each, interleaved")
            run_latency_stage(suite, dataset, utterances, out_dir)
        write_tables(out_dir, suite, metric_names, console, dataset)
    return RunOutcome(
        out_dir, len(all_rows), len(all_rows) - len(kept), errors, interrupted, time.perf_counter() - started_at
    )


def shard_record(shard: Shard, utterances: list[Any]) -> dict[str, Any]:
    """metadata.json's ``shard``: which one, and the utterances it holds (what ``merge`` checks against)."""
    return {"index": shard.index, "count": shard.count, "utterances": [u.name for u in utterances]}


def utc_now() -> str:
    """ISO timestamp for metadata."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
