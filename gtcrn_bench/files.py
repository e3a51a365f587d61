"""Writing files so a killed process never leaves half a file under its final name, and JSON the one way.

Every writer of the harness (dataset fetch, manifest, resample cache, audio
cache, run metadata, store downloads, ``--json`` outputs) goes through these.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, on error it is removed.

    Same directory, so the final ``os.replace`` is an atomic rename: a killed
    process leaves at most a stray ``.tmp`` file, never a truncated ``dest``.
    The temporary name keeps ``dest``'s suffix so format-sniffing writers work.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(dest: Path, text: str) -> Path:
    """Write ``text`` to ``dest`` atomically (see :func:`atomic_path`)."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text)
    return dest


def to_json(data: Any) -> str:
    """The harness's JSON form: indented, numpy scalars and paths as their plain values, a final newline."""
    return json.dumps(data, indent=2, default=_plain) + "\n"


def write_json(dest: Path, data: Any) -> Path:
    """``data`` as :func:`to_json` text, written atomically (every ``--json`` option and result file)."""
    return atomic_write_text(dest, to_json(data))


def _plain(value: Any) -> Any:
    """numpy scalars and arrays become Python numbers and lists; anything else its ``str`` (paths, datetimes)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return str(value)
