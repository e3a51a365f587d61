"""Downloading and copying pinned files: resumable, with a progress bar and a sha256 check.

Plain urllib (no extra dependency) because it also reads ``file://`` URLs, which
is how a local mirror and the tests exercise the same download code.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from gtcrn_bench.errors import ChecksumError, GtcrnBenchError

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError` naming the file and both hashes when they differ."""
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(f"{path}: sha256 mismatch: expected {expected}, got {actual} (corrupt or wrong file)")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
    )


def copy_verified(src: Path, dest: Path, sha256: str | None) -> Path:
    """Copy ``src`` to ``dest`` through a temporary file, checking the hash before it lands."""
    if not src.is_file():
        raise GtcrnBenchError(f"{src}: not found")
    if sha256:
        verify_sha256(src, sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)
    return dest


def download(url: str, dest: Path, sha256: str | None = None, *, description: str | None = None) -> Path:
    """Fetch ``url`` to ``dest``, resuming a ``.part`` file left by an interrupted run.

    The file only takes its final name once complete and (if ``sha256`` is given)
    verified, so an interrupted or corrupt download never looks finished.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # the .part already holds the whole file
            response = None
        else:
            raise GtcrnBenchError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise GtcrnBenchError(f"cannot download {url}: {exc}") from exc
    if response is not None:
        with response:
            resumed = bool(done) and getattr(response, "status", None) == 206  # else the server restarts at 0
            length = response.headers.get("Content-Length")
            total = int(length) + (done if resumed else 0) if length else None
            mode = "ab" if resumed else "wb"
            with _progress() as bar, open(part, mode) as out:
                task = bar.add_task(description or dest.name, total=total, completed=done if resumed else 0)
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    bar.advance(task, len(block))
    if sha256:
        try:
            verify_sha256(part, sha256)
        except ChecksumError:
            part.unlink()
            raise
    part.replace(dest)
    return dest
