"""manifest.csv of a paired set: one row per pair with the sha256 of its clean and noisy file.

Columns ``name``, ``sha256_clean``, ``sha256_noisy`` are required (a cell may be
empty: that file is then not checked); any others (``duration_s``, ``source``,
``snr_db``, ...) are kept as they are. This is the format of
``../shared/data/vctk-demand-mini/manifest.csv`` and of what
``gtcrn-bench fetch vctk-demand`` writes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ChecksumError, InputError
from gtcrn_bench.files import atomic_path

FILE_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("name", "sha256_clean", "sha256_noisy")
SIDES = ("clean", "noisy")
MAX_LISTED = 20  # problems named one by one in an error; the rest are counted


@dataclass(frozen=True)
class ManifestEntry:
    """One row: the pair's file name and the expected sha256 per side (None: not checked)."""

    name: str
    sha256_clean: str | None
    sha256_noisy: str | None

    def sha256(self, side: str) -> str | None:
        return self.sha256_clean if side == "clean" else self.sha256_noisy


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """Entries by name, in file order; :class:`InputError` naming the file for a malformed manifest."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(
                    f"{path}: not a dataset manifest: missing column(s) {', '.join(missing)} "
                    f"(needs {', '.join(REQUIRED_COLUMNS)})"
                )
            rows = list(reader)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the manifest ({exc.strerror})") from exc
    entries: dict[str, ManifestEntry] = {}
    for line, row in enumerate(rows, start=2):
        name = (row["name"] or "").strip()
        if not name or name in entries:
            raise InputError(f"{path}:{line}: {'duplicate' if name else 'empty'} name {name!r}")
        entries[name] = ManifestEntry(name, row["sha256_clean"] or None, row["sha256_noisy"] or None)
    return entries


def write_manifest(path: Path, rows: Iterable[dict[str, object]], columns: list[str]) -> None:
    """Write rows atomically; ``columns`` must include the required ones."""
    if not set(REQUIRED_COLUMNS) <= set(columns):
        raise ValueError(f"manifest columns must include {', '.join(REQUIRED_COLUMNS)}")
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def file_problems(root: Path, entries: Iterable[ManifestEntry]) -> list[str]:
    """``side/name: reason`` for every listed file that is missing or whose sha256 differs."""
    problems = []
    for entry in entries:
        for side in SIDES:
            expected = entry.sha256(side)
            path = root / side / entry.name
            if not path.is_file():
                problems.append(f"{side}/{entry.name}: missing")
            elif expected and sha256_file(path) != expected:
                problems.append(f"{side}/{entry.name}: sha256 differs from the manifest")
    return problems


def verify_files(manifest: Path, root: Path, entries: Iterable[ManifestEntry]) -> None:
    """Raise :class:`ChecksumError` listing every missing or modified file of ``entries``."""
    entries = list(entries)
    problems = file_problems(root, entries)
    if problems:
        listed = "; ".join(problems[:MAX_LISTED])
        more = f"; and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ChecksumError(
            f"{manifest}: {len(problems)} file(s) of {len(entries)} pairs do not match the manifest: "
            f"{listed}{more} (re-fetch the dataset, or restore the files)"
        )
