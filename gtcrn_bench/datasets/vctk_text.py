"""The VoiceBank+DEMAND test set's transcripts: ``testset_txt.zip`` (or its unpacked folder) -> ``text/<name>.txt``.

The DataShare record of the test set (handle 10283/2791) publishes one text file
per utterance, ``testset_txt/p232_001.txt`` etc., beside the audio archives.
They become the set's ``text/`` folder, which :class:`~gtcrn_bench.datasets.paired.
PairedDirDataset` reads for the word error metrics. The folder is written under
a temporary name and renamed when complete, so its presence marks a finished step.

Transcripts are optional: when the archive cannot be had (a mirror without it, a
``--from`` folder without ``testset_txt/``), the audio set is still complete and
the result says why there are no transcripts; the word error metrics then compare
with the recogniser's transcription of the clean reference.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gtcrn_bench.datasets.paired import TEXT_DIR
from gtcrn_bench.download import download, sha256_file
from gtcrn_bench.errors import GtcrnBenchError

ARCHIVE = "testset_txt.zip"
FOLDER = "testset_txt"  # inside the archive and in a --from folder


@dataclass(frozen=True)
class TranscriptResult:
    """How many transcripts the set has, where they came from, or why there are none."""

    count: int
    origin: str | None = None
    sha256: str | None = None
    missing: str | None = None


def _decoded(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise GtcrnBenchError(f"{label}: not UTF-8 text ({exc})") from exc


def _from_folder(folder: Path) -> dict[str, str]:
    return {p.stem: _decoded(p.read_bytes(), str(p)) for p in sorted(folder.glob("*.txt"))}


def _from_zip(path: Path) -> dict[str, str]:
    texts = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename).name
            if info.is_dir() or not name.endswith(".txt") or name.startswith("._") or "__MACOSX" in info.filename:
                continue
            texts[PurePosixPath(name).stem] = _decoded(archive.read(info), f"{path}:{info.filename}")
    return texts


def _write(dest: Path, texts: dict[str, str]) -> None:
    """``dest/text/<id>.txt`` for every transcript, the folder renamed into place when complete."""
    tmp = dest / f"{TEXT_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for stem, text in texts.items():
        (tmp / f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
    tmp.replace(dest / TEXT_DIR)


def fetch_transcripts(dest: Path, *, source: Path | None, base_url: str) -> TranscriptResult:
    """Fill ``dest/text`` from ``source/testset_txt`` or from ``base_url/testset_txt.zip`` (skipped when done)."""
    done = dest / TEXT_DIR
    if done.is_dir():
        return TranscriptResult(sum(1 for _ in done.glob("*.txt")), origin=f"already in {done}")
    sha256 = None
    if source is not None:
        folder = source / FOLDER
        if not folder.is_dir():
            return TranscriptResult(0, missing=f"{folder} does not exist (unpack {ARCHIVE} there for transcripts)")
        texts, origin = _from_folder(folder), f"local folder {folder}"
    else:
        url = f"{base_url.rstrip('/')}/{ARCHIVE}"
        path = dest / "archives" / ARCHIVE
        try:
            if not path.is_file():
                download(url, path, description=ARCHIVE)
            texts, sha256 = _from_zip(path), sha256_file(path)
        except GtcrnBenchError as exc:
            return TranscriptResult(0, missing=str(exc))
        except zipfile.BadZipFile as exc:
            path.unlink()  # e.g. an HTML error page: removed so the next run downloads again
            return TranscriptResult(0, missing=f"{url}: the download is not a zip archive ({exc})")
        origin = url
    if not texts:
        return TranscriptResult(0, missing=f"{origin} holds no .txt files")
    _write(dest, texts)
    return TranscriptResult(len(texts), origin, sha256)
