"""Merging shards (``run --shard I/N``) into one results folder with its tables and report.

Shards are merged only when they are shards of one run: the same suite,
metrics (and metric package versions), dataset (manifest or file hashes) and
runner identities (model sha256), each index 1..N exactly once, and every pair
of every shard's utterances present exactly once. Every refusal names the
folders and the pairs concerned.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.files import write_json
from gtcrn_bench.suite import rows as rowfile
from gtcrn_bench.suite.config import validate_suite

#: what must agree between shards, by the metadata.json key holding it
SAME = {"suite": "suite", "metrics": "metrics (or their package versions)", "runners": "runner identities"}
#: the dataset fields that identify the audio (its root may differ between machines)
DATASET_IDENTITY = ("kind", "manifest_sha256", "pairs_sha256", "utterances", "references")
#: files of a shard's folder the merged folder takes from the first shard (measured once per shard, not per pair)
COPIED = ("complexity.json", "latency.json", "latency_frames.npz")
LISTED = 10


@dataclass(frozen=True)
class ShardRun:
    """One shard's folder, metadata and rows."""

    path: Path
    meta: dict[str, Any]
    rows: list[dict[str, str]]

    @property
    def index(self) -> int:
        return int(self.meta["shard"]["index"])

    @property
    def count(self) -> int:
        return int(self.meta["shard"]["count"])


def read_shard(path: Path) -> ShardRun:
    """A shard's folder; :class:`ConfigError` when it is not a (sharded) results folder."""
    meta_path = path / "metadata.json"
    if not meta_path.exists():
        raise ConfigError(f"{path}: no metadata.json (is it a results folder of `gtcrn-bench run --shard`?)")
    meta = json.loads(meta_path.read_text())
    if not meta.get("shard"):
        raise ConfigError(f"{path}: not a shard (it was run without --shard)")
    rows = rowfile.read_rows(path / "per_utterance.csv", rowfile.columns(list(meta["metrics"])))
    return ShardRun(path, meta, rows)


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - LISTED} more" if len(items) > LISTED else ""
    return ", ".join(items[:LISTED]) + more


def check_same_run(shards: list[ShardRun]) -> None:
    """Refuse shards of different suites, metrics, datasets, runner identities or shard counts."""
    first = shards[0]
    problems = []
    for shard in shards[1:]:
        for key, what in SAME.items():
            if shard.meta.get(key) != first.meta.get(key):
                problems.append(f"{shard.path}: its {what} differ from {first.path}'s")
        mine = {k: shard.meta["dataset"].get(k) for k in DATASET_IDENTITY}
        theirs = {k: first.meta["dataset"].get(k) for k in DATASET_IDENTITY}
        if mine != theirs:
            fields = [k for k in DATASET_IDENTITY if mine[k] != theirs[k]]
            problems.append(f"{shard.path}: its dataset differs from {first.path}'s ({', '.join(fields)})")
        if shard.count != first.count:
            problems.append(
                f"{shard.path}: shard {shard.index}/{shard.count}, but {first.path} is one of {first.count}"
            )
    if problems:
        raise ConfigError("cannot merge: " + "; ".join(problems))
    indices = {}
    for shard in shards:
        if shard.index in indices:
            raise ConfigError(
                f"cannot merge: shard {shard.index}/{shard.count} given twice: {indices[shard.index]}, {shard.path}"
            )
        indices[shard.index] = shard.path
    missing = [f"{i}/{first.count}" for i in range(1, first.count + 1) if i not in indices]
    if missing:
        raise ConfigError(
            f"cannot merge: shard {', '.join(missing)} missing (given: {', '.join(map(str, indices.values()))})"
        )


def merged_rows(shards: list[ShardRun]) -> list[dict[str, str]]:
    """Every shard's rows, utterances in the unsharded order and runners in the suite's; refuses
    duplicated or missing (runner, utterance) pairs, naming them."""
    keys = [entry.get("label") or entry["name"] for entry in shards[0].meta["suite"]["runners"]]
    count = shards[0].count
    position = {}
    for shard in shards:
        for j, utterance in enumerate(shard.meta["shard"]["utterances"]):
            position[utterance] = j * count + shard.index - 1  # shard I holds utterances I-1, I-1+N, ...
    seen: dict[tuple[str, str], Path] = {}
    duplicated, foreign = [], []
    for shard in shards:
        for row in shard.rows:
            key = (row["runner"], row["utterance"])
            if key in seen:
                duplicated.append(f"{key[0]} on {key[1]} ({seen[key]}, {shard.path})")
            elif row["utterance"] not in position or row["runner"] not in keys:
                foreign.append(f"{key[0]} on {key[1]} ({shard.path})")
            seen[key] = shard.path
    missing = [
        f"{runner} on {utterance} ({shard.path})"
        for shard in shards
        for utterance in shard.meta["shard"]["utterances"]
        for runner in keys
        if (runner, utterance) not in seen
    ]
    for found, what in ((duplicated, "duplicated"), (foreign, "not of its shard"), (missing, "missing")):
        if found:
            raise ConfigError(f"cannot merge: {len(found)} pairs {what}: {_listed(found)}")
    rows = [row for shard in shards for row in shard.rows]
    return sorted(rows, key=lambda r: (position[r["utterance"]], keys.index(r["runner"])))


def merged_metadata(shards: list[ShardRun]) -> dict[str, Any]:
    """The first shard's metadata without its shard, each shard's session listed, CPU seconds summed."""
    meta = {k: v for k, v in shards[0].meta.items() if k not in ("shard", "resumed", "cpu_seconds")}
    meta["run_options"] = {**meta.get("run_options", {}), "shard": None}
    meta["merged_from"] = [
        {
            "path": str(s.path.resolve()),
            "shard": f"{s.index}/{s.count}",
            "started_utc": s.meta.get("started_utc"),
            "executor": s.meta.get("executor"),
            "resumed": s.meta.get("resumed", []),
            "environment": {k: s.meta["environment"].get(k) for k in ("python", "platform", "git", "cpu")},
        }
        for s in shards
    ]
    cpu: dict[str, dict[str, float]] = {"runners": {}, "metrics": {}}
    for shard in shards:
        for part in cpu:
            for name, seconds in shard.meta.get("cpu_seconds", {}).get(part, {}).items():
                cpu[part][name] = round(cpu[part].get(name, 0.0) + seconds, 3)
    meta["cpu_seconds"] = cpu
    return meta


def merge_shards(out: Path, shard_dirs: list[Path], console: Console) -> int:
    """Write ``out`` from the shards' folders (rows, metadata, tables, report); returns the number of rows."""
    from gtcrn_bench.suite.report import write_tables

    if not shard_dirs:
        raise ConfigError("merge: name the shards' results folders")
    if (out / "per_utterance.csv").exists():
        raise ConfigError(f"{out / 'per_utterance.csv'} exists: merge into a new folder")
    shards = sorted((read_shard(p) for p in shard_dirs), key=lambda s: s.index)
    check_same_run(shards)
    rows = merged_rows(shards)
    meta = merged_metadata(shards)
    out.mkdir(parents=True, exist_ok=True)
    metric_names = list(meta["metrics"])
    writer = rowfile.RowWriter(out / "per_utterance.csv", rowfile.columns(metric_names), rows)
    writer.close()
    for name in COPIED:
        if (shards[0].path / name).exists():
            shutil.copy(shards[0].path / name, out / name)
    if (shards[0].path / "latency.json").exists():
        meta["latency_from"] = str(shards[0].path.resolve())
    write_json(out / "metadata.json", meta)
    suite = validate_suite(meta["suite"], out / "metadata.json")
    write_tables(out, suite, metric_names, console)
    return len(rows)
