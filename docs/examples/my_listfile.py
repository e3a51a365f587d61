"""Example for docs/contributing.md, "Add a dataset kind": pairs listed in a CSV file (clean,noisy per line).

A package would register the kind with an entry point (its name is the kind suites use):

    [project.entry-points."gtcrn_bench.datasets"]
    list-file = "my_package.my_listfile:ListFileDataset"
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench.audio import read_audio
from gtcrn_bench.datasets import Dataset, Utterance
from gtcrn_bench.errors import InputError


class ListFileDataset(Dataset):
    """``root`` is a CSV file with columns ``clean,noisy`` (paths relative to the file); one utterance per row."""

    def __init__(self, root: str | Path | None, limit: int | None = None, **options: Any) -> None:
        if root is None:
            raise InputError("list-file: set dataset.root to the CSV file")
        self.path = Path(root)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such list file")
        with open(self.path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        base = self.path.parent
        self._utterances = [
            Utterance(name=Path(r["noisy"]).name, noisy=base / r["noisy"], clean=base / r["clean"]) for r in rows
        ][:limit]

    def utterances(self) -> list[Utterance]:
        return list(self._utterances)

    def load(self, utterance: Utterance) -> tuple[np.ndarray | None, np.ndarray]:
        clean, _ = read_audio(utterance.clean, quiet=True)
        noisy, _ = read_audio(utterance.noisy, quiet=True)
        n = min(clean.size, noisy.size)
        return clean[:n], noisy[:n]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "list-file",
            "root": str(self.path),
            "list_sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
            "utterances": len(self._utterances),
        }
