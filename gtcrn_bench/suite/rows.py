"""per_utterance.csv: one row per (runner, utterance), appended and flushed as soon as it is computed.

A run killed mid-write can leave a partial last line; :func:`read_rows` drops it
and :class:`RowWriter` rewrites the file cleanly before appending, so resuming
never duplicates or loses a finished row.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

LEAD_COLUMNS = ("runner", "utterance")
TAIL_COLUMNS = ("duration_s", "process_s", "error")


def columns(metric_names: list[str]) -> list[str]:
    """The file's columns: runner, utterance, one per metric, then bookkeeping."""
    return [*LEAD_COLUMNS, *metric_names, *TAIL_COLUMNS]


def read_rows(path: Path, expected_columns: list[str]) -> list[dict[str, str]]:
    """Complete rows of an existing file (a truncated last line is dropped)."""
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != expected_columns:
            return []
        return [row for row in reader if None not in row.values() and None not in row]


class RowWriter:
    """Appends rows to per_utterance.csv, keeping the rows already there (for ``--resume``)."""

    def __init__(self, path: Path, fieldnames: list[str], keep: list[dict[str, str]]) -> None:
        self.path = path
        self.fieldnames = fieldnames
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fieldnames)
            writer.writeheader()
            writer.writerows(keep)
        os.replace(tmp, path)
        self._fh = open(path, "a", newline="")  # noqa: SIM115  (held open for the run, closed in close())
        self._writer = csv.DictWriter(self._fh, fieldnames=fieldnames, extrasaction="ignore")

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in self.fieldnames})
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()
