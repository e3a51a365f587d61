"""Published size and compute of the baselines, as ``baselines/complexity.yaml`` names them.

RNNoise and DeepFilterNet run inside compiled libraries, so their parameters
and MACs are taken from publications and reported as ``kind: "published"``,
never as measured. Runners with ONNX graphs (DTLN, GTCRN in sherpa-onnx) are
counted from the graphs; their published claims are listed for comparison.
Params are in millions, MACs in G per second of audio (the GTCRN paper's units).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gtcrn_bench.baselines import PUBLISHED_FILE, published_tables
from gtcrn_bench.errors import ConfigError

COMPLEXITY_FILE = PUBLISHED_FILE.with_name("complexity.yaml")
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
    """The published figures for a runner, marked ``kind: "published"`` with their source; None if none exist.

    None too when the baselines folder is not there (a wheel install without the repository's data files).
    """
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
