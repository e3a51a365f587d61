"""per_utterance.csv: one row per (runner, utterance), appended and flushed as soon as it is computed.

Each row is one line (line breaks inside a value are written as spaces), and a
row counts as written only once its line end is: a run killed mid-write leaves
text after the last newline, which :func:`read_rows` drops (even when its fields
happen to parse, the last one, ``error``, may be cut short). :class:`RowWriter`
rewrites the file cleanly before appending, so resuming never duplicates or
loses a finished row.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from gtcrn_bench.errors import ConfigError

LEAD_COLUMNS = ("runner", "utterance")
TAIL_COLUMNS = ("duration_s", "process_s", "error")


def columns(metric_names: list[str]) -> list[str]:
    """The file's columns: runner, utterance, one per metric, then bookkeeping."""
    return [*LEAD_COLUMNS, *metric_names, *TAIL_COLUMNS]


def complete_lines(path: Path) -> str:
    """The file's text up to and including its last newline: every line whose end was written."""
    with open(path, newline="") as fh:
        text = fh.read()
    return text[: text.rfind("\n") + 1]


def column_mismatch(path: Path, found: list[str], expected: list[str]) -> ConfigError:
    """The error for a row file whose columns are not this run's: resuming it would discard its rows."""
    old = [c for c in found if c not in (*LEAD_COLUMNS, *TAIL_COLUMNS)]
    new = [c for c in expected if c not in (*LEAD_COLUMNS, *TAIL_COLUMNS)]
    only_old = [c for c in old if c not in new] or ["-"]
    only_new = [c for c in new if c not in old] or ["-"]
    return ConfigError(
        f"{path}: cannot resume: its columns are {', '.join(found)}; this run's are {', '.join(expected)} "
        f"(only in the file: {', '.join(only_old)}; only in this run: {', '.join(only_new)}). "
        "Resuming would discard its rows: keep the suite's earlier metrics, or run into a new --out "
        "(enhanced audio is cached, so only the metrics are computed again)"
    )


def read_rows(path: Path, expected_columns: list[str]) -> list[dict[str, str]]:
    """Complete rows of an existing file ([] when there is none or it is empty).

    Raises :class:`ConfigError` naming both column lists when the file's header
    is not ``expected_columns`` (its rows hold other metrics).
    """
    if not path.exists():
        return []
    reader = csv.DictReader(io.StringIO(complete_lines(path), newline=""))
    if reader.fieldnames is None:
        return []
    if list(reader.fieldnames) != expected_columns:
        raise column_mismatch(path, list(reader.fieldnames), expected_columns)
    return [row for row in reader if None not in row.values() and None not in row]


def one_line(value: Any) -> Any:
    """``value`` with line breaks as spaces (text only), so every row stays one line of the file."""
    return " ".join(value.splitlines()) if isinstance(value, str) else value


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
        self._writer.writerow({k: "" if row.get(k) is None else one_line(row.get(k)) for k in self.fieldnames})
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()
