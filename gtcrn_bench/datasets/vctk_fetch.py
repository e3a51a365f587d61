"""Building the ``vctk-demand`` set: the two DataShare archives (or their unpacked folders) -> 16 kHz pairs.

Steps, each skipped when already done so an interrupted run resumes:

1. download ``clean_testset_wav.zip`` and ``noisy_testset_wav.zip`` (resumable
   ``.part`` files) unless ``source`` gives the unpacked folders;
2. resample every 48 kHz wav to 16 kHz (soxr VHQ) and write it as mono PCM16 wav
   to ``dest/clean`` and ``dest/noisy`` (16-bit like the 16 kHz sets the published
   results were computed on); a file at its final name is complete (atomic writes);
3. write ``manifest.csv`` (name, duration_s, sha256_clean, sha256_noisy, source)
   last, which marks the set complete, and ``fetch.json`` with the provenance;
4. the transcripts (``testset_txt.zip`` or ``DIR/testset_txt``) into ``text/``
   (:mod:`gtcrn_bench.datasets.vctk_text`), also for a set fetched before, optional.

DataShare publishes no checksums for the archives, so nothing pins them: the
sha256 of what was downloaded is recorded in ``fetch.json`` (and printed), and the
manifest pins the produced files from then on.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import soundfile as sf
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from gtcrn_bench import __version__
from gtcrn_bench.audio import SAMPLE_RATE, resample
from gtcrn_bench.datasets.manifest import FILE_NAME, read_manifest, write_manifest
from gtcrn_bench.datasets.vctk_demand import ARCHIVES, DATASHARE_HANDLE, DATASHARE_URL, default_dir
from gtcrn_bench.datasets.vctk_text import ARCHIVE as TEXT_ARCHIVE
from gtcrn_bench.datasets.vctk_text import TranscriptResult, fetch_transcripts
from gtcrn_bench.download import download, sha256_file
from gtcrn_bench.errors import GtcrnBenchError, InputError
from gtcrn_bench.files import atomic_path, write_json

METADATA_FILE = "fetch.json"
OUTPUT_SUBTYPE = "PCM_16"
MANIFEST_COLUMNS = ["name", "duration_s", "sha256_clean", "sha256_noisy", "source"]
FULL_SCALE = 32767  # |int16| at or above this: the sample sits at the PCM16 limit (clipped)


class Member(NamedTuple):
    """One source wav: a label for messages (archive:member or path) and how to open it."""

    label: str
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class FetchResult:
    """What a fetch produced (for the console and tests)."""

    dest: Path
    pairs: int
    already_complete: bool
    archives: dict[str, dict[str, Any]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    full_scale: list[str] = field(default_factory=list)
    transcripts: TranscriptResult | None = None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    )


def completed_pairs(dest: Path) -> int | None:
    """Number of pairs when ``dest`` holds a finished fetch (manifest and every file it lists), else None."""
    manifest = dest / FILE_NAME
    if not manifest.is_file():
        return None
    entries = read_manifest(manifest)
    complete = all((dest / side / name).is_file() for name in entries for side in ("clean", "noisy"))
    return len(entries) if complete else None


def folder_members(folder: Path) -> dict[str, Member]:
    """The wavs of an unpacked archive folder, by file name."""
    wavs = sorted(folder.glob("*.wav")) if folder.is_dir() else []
    if not wavs:
        raise InputError(
            f"{folder}: no .wav files; --from expects the unpacked archives: "
            "DIR/clean_testset_wav/*.wav and DIR/noisy_testset_wav/*.wav"
        )
    return {p.name: Member(str(p), lambda p=p: open(p, "rb")) for p in wavs}


def zip_members(archive: zipfile.ZipFile, label: str) -> dict[str, Member]:
    """The wavs of an archive by base name, skipping folders and macOS metadata entries."""
    members = {}
    for info in archive.infolist():
        name = PurePosixPath(info.filename).name
        if info.is_dir() or not name.lower().endswith(".wav") or name.startswith("._"):
            continue
        if "__MACOSX" in info.filename:
            continue
        members[name] = Member(f"{label}:{info.filename}", lambda info=info: io.BytesIO(archive.read(info)))
    if not members:
        raise InputError(f"{label}: the archive holds no .wav files")
    return members


def open_archive(path: Path, url: str) -> zipfile.ZipFile:
    """Open a downloaded archive; one that is not a zip (e.g. an HTML error page) is removed and reported."""
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        path.unlink()
        raise GtcrnBenchError(
            f"{url}: the download ({path}) is not a zip archive (the server may have sent an error page); "
            "it was removed: run the command again, or download the archives yourself and use --from DIR "
            "with them unpacked"
        ) from exc


def download_archives(
    folder: Path, base_url: str, stack: contextlib.ExitStack
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Member]]]:
    """Download (or reuse) both archives; return their provenance and their wavs per side."""
    provenance: dict[str, dict[str, Any]] = {}
    members: dict[str, dict[str, Member]] = {}
    for zip_name, (side, _folder) in ARCHIVES.items():
        path = folder / zip_name
        url = f"{base_url.rstrip('/')}/{zip_name}"
        if not path.is_file():
            download(url, path, description=zip_name)
        archive = stack.enter_context(open_archive(path, url))
        members[side] = zip_members(archive, str(path))
        provenance[zip_name] = {"url": url, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    return provenance, members


def convert(member: Member, out: Path) -> None:
    """Read one source wav, resample it to 16 kHz and write it atomically as mono PCM16."""
    try:
        with member.open() as fh:
            data, rate = sf.read(fh, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{member.label}: cannot read audio ({exc})") from exc
    if data.shape[1] != 1:
        raise InputError(f"{member.label}: {data.shape[1]} channels; the test set is mono")
    wave = resample(data[:, 0], rate, SAMPLE_RATE)
    with atomic_path(out) as tmp:
        sf.write(str(tmp), wave, SAMPLE_RATE, subtype=OUTPUT_SUBTYPE, format="WAV")


def convert_side(side: str, members: dict[str, Member], out_dir: Path) -> None:
    """Convert every wav of one side that is not already at its final place, with a progress bar."""
    with _progress() as bar:
        task = bar.add_task(f"resampling {side} to 16 kHz", total=len(members))
        for name, member in members.items():
            out = out_dir / name
            if not out.is_file():
                convert(member, out)
            bar.advance(task)


def manifest_rows(dest: Path, names: Iterable[str], origin: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Manifest rows of the produced pairs, and the files that reach PCM16 full scale (clipped)."""
    names = list(names)
    rows, full_scale = [], []
    with _progress() as bar:
        task = bar.add_task("hashing", total=len(names))
        for name in names:
            row: dict[str, Any] = {"name": name, "source": origin}
            for side in ("clean", "noisy"):
                path = dest / side / name
                samples, _ = sf.read(str(path), dtype="int16")
                if samples.size and int(np.abs(samples.astype(np.int32)).max()) >= FULL_SCALE:
                    full_scale.append(f"{side}/{name}")
                row[f"sha256_{side}"] = sha256_file(path)
                if side == "noisy":
                    row["duration_s"] = round(samples.size / SAMPLE_RATE, 3)
            rows.append(row)
            bar.advance(task)
    return rows, full_scale


def write_metadata(dest: Path, meta: dict[str, Any]) -> None:
    """fetch.json, atomically."""
    write_json(dest / METADATA_FILE, meta)


def fetch_vctk_demand(
    dest: Path | None = None,
    *,
    source: Path | None = None,
    base_url: str | None = None,
    keep_archives: bool = False,
) -> FetchResult:
    """Build the 16 kHz VoiceBank+DEMAND test set in ``dest`` (default: the store), skipping finished work.

    ``source`` is a folder with the unpacked archives (``clean_testset_wav/``,
    ``noisy_testset_wav/``); without it the archives are downloaded from
    ``base_url`` (default: Edinburgh DataShare; a ``file://`` mirror works too)
    into ``dest/archives``, which is removed at the end unless ``keep_archives``.
    """
    dest = Path(dest).expanduser() if dest is not None else default_dir()
    base_url = base_url or DATASHARE_URL
    source = Path(source).expanduser().resolve() if source is not None else None
    done = completed_pairs(dest)
    if done is not None:
        texts = fetch_transcripts(dest, source=source, base_url=base_url)
        if not keep_archives:
            (dest / "archives" / TEXT_ARCHIVE).unlink(missing_ok=True)
        return FetchResult(dest, done, already_complete=True, transcripts=texts)
    with contextlib.ExitStack() as stack:
        if source is not None:
            members = {side: folder_members(source / folder) for side, folder in ARCHIVES.values()}
            archives: dict[str, dict[str, Any]] = {}
            origin = f"local folder {source}"
        else:
            archives, members = download_archives(dest / "archives", base_url, stack)
            origin = f"{base_url} (DataShare handle {DATASHARE_HANDLE})"
        for side, side_members in members.items():
            convert_side(side, side_members, dest / side)
    names = sorted(set(members["clean"]) & set(members["noisy"]))
    unmatched = sorted(set(members["clean"]) ^ set(members["noisy"]))
    rows, full_scale = manifest_rows(dest, names, origin)
    texts = fetch_transcripts(dest, source=source, base_url=base_url)
    write_metadata(
        dest,
        {
            "dataset": "VoiceBank+DEMAND test set (Valentini-Botinhao 2017, CC BY 4.0)",
            "source": origin,
            "archives": archives,
            "archives_sha256": "as downloaded: DataShare publishes no checksums, so they are recorded, not verified",
            "resampling": "soxr VHQ to 16 kHz, written as mono WAV PCM_16",
            "pairs": len(rows),
            "unmatched": unmatched,
            "full_scale": full_scale,
            "transcripts": asdict(texts),
            "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "gtcrn_bench_version": __version__,
        },
    )
    write_manifest(dest / FILE_NAME, rows, MANIFEST_COLUMNS)
    if (dest / "archives").is_dir() and not keep_archives:
        shutil.rmtree(dest / "archives")
    return FetchResult(dest, len(rows), False, archives, unmatched, full_scale, texts)
