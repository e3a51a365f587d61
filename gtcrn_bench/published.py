"""Published figures the harness shows beside its own: results tables and the complexity of baselines.

Both are package data (``gtcrn_bench/data/baselines/``, linked as ``baselines/`` at the top of a clone),
so an installed wheel finds them. ``published.yaml`` holds the published results tables by dataset key;
``complexity.yaml`` the published size and compute of runners the harness cannot count itself (RNNoise and
DeepFilterNet run inside compiled libraries) and the published claims of those it counts from their graphs,
each pointing at a published.yaml row so every figure is transcribed once. Params are in millions, MACs in G
per second of audio (the GTCRN paper's units).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from gtcrn_bench.errors import ConfigError

DATA_DIR = Path(str(files("gtcrn_bench") / "data" / "baselines"))
PUBLISHED_FILE = DATA_DIR / "published.yaml"
COMPLEXITY_FILE = DATA_DIR / "complexity.yaml"


def published_tables(path: Path = PUBLISHED_FILE) -> dict[str, dict[str, Any]]:
    """All published tables by dataset key (empty when the file is not there)."""
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def published_rows(dataset: str | None, path: Path = PUBLISHED_FILE) -> list[dict[str, Any]]:
    """The published systems for one dataset key (e.g. ``vctk-demand``); [] when none is set."""
    if dataset is None:
        return []
    tables = published_tables(path)
    if dataset not in tables:
        raise ConfigError(f"dataset.published: '{dataset}' is not in {path}; known: {', '.join(tables)}")
    return list(tables[dataset]["systems"])


FIGURES = ("params_m", "gmacs_per_s", "source")


def _from_table(runner_name: str, entry: dict[str, Any], published: Path) -> dict[str, Any]:
    """The figures of the published.yaml row an entry points at (``table`` + ``system``)."""
    systems = published_tables(published).get(entry["table"], {}).get("systems", [])
    row = next((r for r in systems if r["system"] == entry["system"]), None)
    if row is None:
        where = f"table '{entry['table']}' of {published}"
        raise ConfigError(f"{COMPLEXITY_FILE}: {runner_name}: no system '{entry['system']}' in {where}")
    return {k: row.get(k) for k in FIGURES}


def published_complexity(
    runner_name: str, path: Path = COMPLEXITY_FILE, published: Path = PUBLISHED_FILE
) -> dict[str, Any] | None:
    """The published figures for a runner, marked ``kind: "published"`` with their source; None if none exist."""
    if not path.exists():
        return None
    entry = (yaml.safe_load(path.read_text()) or {}).get(runner_name)
    if entry is None:
        return None
    figures = _from_table(runner_name, entry, published) if "table" in entry else {k: entry.get(k) for k in FIGURES}
    out = {"system": entry["system"], **figures, "kind": "published"}
    if "note" in entry:
        out["note"] = entry["note"]
    return out
