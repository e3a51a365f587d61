"""Published results (``baselines/published.yaml``) in the form the reports read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gtcrn_bench.errors import ConfigError

PUBLISHED_FILE = Path(__file__).resolve().parents[1] / "baselines" / "published.yaml"


def published_tables(path: Path = PUBLISHED_FILE) -> dict[str, dict[str, Any]]:
    """All published tables by dataset key (empty when the file is not there, e.g. a wheel install)."""
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
