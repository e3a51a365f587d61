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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from gtcrn_bench import metrics, provenance
from gtcrn_bench.datasets import open_dataset
from gtcrn_bench.errors import ConfigError, GtcrnBenchError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.store import home
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.config import Suite, load_suite
from gtcrn_bench.suite.latency_stage import run_latency_stage
from gtcrn_bench.suite.worker import WorkerSetup, evaluate, init_worker, thread_environment

RESULTS_DIR = Path("results")


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices of one ``gtcrn-bench run``."""

    suite_path: Path
    data: Path | None = None
    out: Path | None = None
    jobs: int = 1
    limit: int | None = None
    resume: bool = False


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


def runner_complexity_entry(name: str, runner: Runner) -> dict[str, Any] | None:
    """What the report shows for a runner's size and compute: counted (``exact``) or published, or None.

    Only the summary keys are kept (the full breakdown is ``gtcrn-bench complexity``).
    """
    from gtcrn_bench.complexity import runner_complexity
    from gtcrn_bench.runners.baselines.published_complexity import published_complexity

    counted = runner_complexity(runner)
    if counted is not None:
        keys = ("kind", "convention", "source", "params_total", "params_trainable", "macs_per_frame", "macs_per_second")
        return {k: counted.get(k) for k in keys}
    published = published_complexity(name)
    if published is None or published.get("params_m") is None:
        return None
    gmacs = published.get("gmacs_per_s")
    return {
        "kind": "published",
        "source": published["source"],
        "params_total": published["params_m"] * 1e6,
        "macs_per_second": gmacs * 1e9 if gmacs is not None else None,
    }


def preflight_runners(suite: Suite) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Build every runner once before any work, so a missing checkpoint stops the run at once, clearly.

    Returns each runner's identity (name, parameters, model sha256) and, when the
    suite asks for it, its complexity entry.
    """
    identities, complexity = {}, {}
    for entry in suite.runners:
        try:
            runner = registry.create(entry.name, **entry.params)
        except GtcrnBenchError as exc:
            raise ConfigError(f"runner '{entry.key}' cannot be built: {exc}") from exc
        identities[entry.key] = runner.describe()
        if suite.complexity:
            found = runner_complexity_entry(entry.name, runner)
            if found is not None:
                complexity[entry.key] = found
    return identities, complexity


def write_metadata(out_dir: Path, suite_path: Path, suite: Suite, extra: dict[str, Any]) -> None:
    """metadata.json: environment, suite text, runner identities (model sha256), dataset hashes."""
    meta = {
        "suite_file": str(suite_path),
        "suite_text": suite_path.read_text(),
        "suite": suite.model_dump(),
        "environment": provenance.environment(),
        **extra,
    }
    tmp = out_dir / "metadata.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2, default=str))
    tmp.replace(out_dir / "metadata.json")


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
    suite = load_suite(options.suite_path)
    dataset = open_dataset(
        suite.dataset.kind, suite.dataset_root(options.data), manifest=suite.dataset.manifest, limit=options.limit
    )
    dataset.verify()
    utterances = dataset.utterances()
    metric_names = suite.metrics or metrics.names()
    identities, complexity = preflight_runners(suite)

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
        options.suite_path,
        suite,
        {
            "started_utc": utc_now(),
            "jobs": options.jobs,
            "runners": identities,
            "dataset": dataset.describe(),
            "metrics": metrics.provenance(metric_names),
        },
    )
    if complexity:
        (out_dir / "complexity.json").write_text(json.dumps(complexity, indent=2) + "\n")
    console.print(f"{suite.name}: {len(utterances)} utterances x {len(suite.runners)} runners -> {out_dir}")
    if kept:
        console.print(f"resuming: {len(kept)} rows kept, {len(pairs)} to compute")

    setup = WorkerSetup(
        runners={e.key: e for e in suite.runners},
        dataset=dataset,
        metric_names=metric_names,
        cache_dir=home() / "cache" / "enhanced",
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
        write_tables(out_dir, suite, metric_names, console)
    return RunOutcome(
        out_dir, len(all_rows), len(all_rows) - len(kept), errors, interrupted, time.perf_counter() - started
    )


def utc_now() -> str:
    """ISO timestamp for metadata."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
