"""``paired-dir``: a folder with ``clean/`` and ``noisy/`` holding files of the same names.

- Pairs are matched by file name. A file without its counterpart is still listed,
  with a ``problem``, so the run records a row giving the reason (a visible skip).
  A folder without ``clean/`` at all is a reference-free set (noisy only).
- ``manifest.csv`` (see :mod:`gtcrn_bench.datasets.manifest`) pins each file's
  sha256; :meth:`PairedDirDataset.verify` checks them before a run and names every
  missing or modified file. With a manifest, the pairs are exactly its rows.
- Clean and noisy must share a sample rate, and their lengths may differ by at most
  :data:`LENGTH_TOLERANCE_S` (10 ms: a few samples of resampler rounding pass, a
  file of another utterance or a truncated one does not); otherwise the utterance
  gets a ``problem``. Within the tolerance both are cut to the shorter length.
- Audio at any rate other than 16 kHz is resampled once and cached
  (:mod:`gtcrn_bench.datasets.resampled`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from gtcrn_bench.datasets.manifest import FILE_NAME, ManifestEntry, read_manifest, verify_files
from gtcrn_bench.datasets.registry import Dataset, register
from gtcrn_bench.datasets.resampled import ResampleCache, default_cache_dir
from gtcrn_bench.datasets.utterance import Utterance, UtteranceError
from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import InputError

LENGTH_TOLERANCE_S = 0.010
AUDIO_SUFFIXES = (".wav", ".flac")


def _header(path: Path) -> tuple[int, int]:
    """(sample rate, frames) from the file's header; :class:`InputError` naming the file if unreadable."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot read the audio header ({exc})") from exc
    return info.samplerate, info.frames


def pair_problem(clean: Path, noisy: Path) -> tuple[int, int, str | None]:
    """(sample rate, noisy frames, problem or None) of a clean/noisy pair, from the headers only."""
    rate_n, frames_n = _header(noisy)
    rate_c, frames_c = _header(clean)
    if rate_c != rate_n:
        return rate_n, frames_n, f"sample rates differ: clean {rate_c} Hz, noisy {rate_n} Hz"
    diff_ms = abs(frames_c - frames_n) * 1000 / rate_n
    if diff_ms > LENGTH_TOLERANCE_S * 1000:
        return (
            rate_n,
            frames_n,
            f"lengths differ by {diff_ms:.1f} ms (clean {frames_c / rate_c:.3f} s, noisy {frames_n / rate_n:.3f} s; "
            f"tolerance {LENGTH_TOLERANCE_S * 1000:.0f} ms)",
        )
    return rate_n, frames_n, None


@register("paired-dir")
class PairedDirDataset(Dataset):
    """Clean/noisy pairs in ``root/clean`` and ``root/noisy``, loaded as 16 kHz float32.

    ``manifest``: None uses ``root/manifest.csv`` when it exists; True requires it;
    False ignores it; a path names another manifest file. ``limit`` keeps the first
    N pairs (sorted by name, or in manifest order), and only those are verified.
    """

    kind = "paired-dir"

    def __init__(
        self,
        root: str | Path | None,
        manifest: bool | str | Path | None = None,
        limit: int | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        if root is None:
            raise InputError(f"dataset kind '{self.kind}' needs a root folder (with clean/ and noisy/)")
        self.root = Path(root).expanduser()
        if not (self.root / "noisy").is_dir():
            raise InputError(
                f"{self.root}: not a paired dataset: no noisy/ folder there (expected clean/ and noisy/ with the "
                "same file names; for VoiceBank+DEMAND run `gtcrn-bench fetch vctk-demand`)"
            )
        self.manifest = self._manifest_path(manifest)
        self._entries = read_manifest(self.manifest) if self.manifest else None
        self._cache = ResampleCache(cache_dir or default_cache_dir())
        self._utterances = [self._utterance(name) for name in self._names()[:limit]]

    def notices(self) -> list[str]:
        """Without a manifest nothing pins the files: say so, since results then depend on whatever is there."""
        if self.manifest is None:
            return [f"{self.root}: no {FILE_NAME}; the files are used as found, not checked against sha256"]
        return []

    def _manifest_path(self, manifest: bool | str | Path | None) -> Path | None:
        default = self.root / FILE_NAME
        if manifest is None:
            return default if default.is_file() else None
        if manifest is False:
            return None
        path = default if manifest is True else Path(manifest).expanduser()
        if not path.is_file():
            raise InputError(
                f"{path}: manifest not found (write one with columns name, sha256_clean, sha256_noisy, "
                "or run without a manifest: `manifest: false` in the suite's dataset)"
            )
        return path

    def _names(self) -> list[str]:
        if self._entries is not None:
            return list(self._entries)
        names = {p.name for side in ("clean", "noisy") for p in (self.root / side).glob("*")}
        return sorted(n for n in names if Path(n).suffix.lower() in AUDIO_SUFFIXES)

    def _utterance(self, name: str) -> Utterance:
        """The pair ``name`` with its header facts, or with the ``problem`` that makes it unusable."""
        entry = self._entries.get(name) if self._entries else None
        noisy, clean = self.root / "noisy" / name, self.root / "clean" / name
        has_clean_dir = (self.root / "clean").is_dir()
        known = {
            "sha256_clean": entry.sha256_clean if entry else None,
            "sha256_noisy": entry.sha256_noisy if entry else None,
        }
        if not noisy.is_file():
            if clean.is_file():
                return Utterance(name, None, clean, problem=f"no noisy/{name} (only clean/{name} exists)", **known)
            return Utterance(name, None, None, problem=f"neither clean/{name} nor noisy/{name} exists", **known)
        if not has_clean_dir:  # a reference-free set
            return self._noisy_only(name, noisy, known)
        if not clean.is_file():
            return Utterance(name, noisy, None, problem=f"no clean/{name} (only noisy/{name} exists)", **known)
        try:
            rate, frames, problem = pair_problem(clean, noisy)
        except InputError as exc:
            return Utterance(name, noisy, clean, problem=str(exc), **known)
        return Utterance(name, noisy, clean, rate, round(frames / rate, 4), problem=problem, **known)

    @staticmethod
    def _noisy_only(name: str, noisy: Path, known: dict[str, Any]) -> Utterance:
        try:
            rate, frames = _header(noisy)
        except InputError as exc:
            return Utterance(name, noisy, None, problem=str(exc), **known)
        return Utterance(name, noisy, None, rate, round(frames / rate, 4), **known)

    def utterances(self) -> list[Utterance]:
        """Every pair, in a stable order, the unusable ones with their ``problem``."""
        return list(self._utterances)

    def problems(self) -> dict[str, str]:
        """Name -> reason for every pair that will be recorded as an error instead of scored."""
        return {u.name: u.problem for u in self._utterances if u.problem}

    def verify(self) -> None:
        """Check the listed pairs' files against the manifest (no-op without one).

        Raises :class:`~gtcrn_bench.errors.ChecksumError` naming every missing or modified file.
        """
        if self.manifest is None or self._entries is None:
            return
        entries: list[ManifestEntry] = [self._entries[u.name] for u in self._utterances]
        verify_files(self.manifest, self.root, entries)

    def load(self, utterance: Utterance) -> tuple[np.ndarray | None, np.ndarray]:
        """(clean or None, noisy) at 16 kHz float32, cut to a common length.

        Raises :class:`UtteranceError` for a pair with a ``problem`` and
        :class:`~gtcrn_bench.errors.InputError` naming the file for unreadable audio.
        """
        if utterance.problem or utterance.noisy is None:
            raise UtteranceError(f"{utterance.name}: {utterance.problem or 'no noisy file'}")
        noisy = self._cache.read(utterance.noisy, utterance.sample_rate)
        if utterance.clean is None:
            return None, noisy
        clean = self._cache.read(utterance.clean, utterance.sample_rate)
        n = min(clean.size, noisy.size)
        return clean[:n], noisy[:n]

    def has_references(self) -> bool:
        """False for a reference-free set: one without a ``clean/`` folder."""
        return (self.root / "clean").is_dir()

    def file_hashes(self) -> dict[str, dict[str, str | None]]:
        """Name -> sha256 of its clean and noisy file (None: no such file), for the listed pairs."""
        return {
            u.name: {"clean": _sha256_or_none(u.clean), "noisy": _sha256_or_none(u.noisy)} for u in self._utterances
        }

    def describe(self) -> dict[str, Any]:
        """Provenance for metadata.json: what was evaluated, pinned by sha256.

        With a manifest, its sha256 pins every file (and :meth:`verify` checked
        them against it). Without one, each listed file is hashed here instead:
        ``files_sha256`` per pair and ``pairs_sha256``, one digest over them all
        (see :func:`pairs_digest`), so two runs can be shown to have seen the same audio.
        """
        rates = sorted({u.sample_rate for u in self._utterances if u.sample_rate})
        described: dict[str, Any] = {
            "kind": self.kind,
            "root": str(self.root.resolve()),
            "manifest": str(self.manifest) if self.manifest else None,
            "manifest_sha256": sha256_file(self.manifest) if self.manifest else None,
            "utterances": len(self._utterances),
            "unusable": len(self.problems()),
            "references": self.has_references(),
            "sample_rates": rates,
            "resample_cache": str(self._cache.root) if any(r != 16000 for r in rates) else None,
        }
        if self.manifest is None:
            hashes = self.file_hashes()
            described["pairs_sha256"] = pairs_digest(hashes)
            described["files_sha256"] = hashes
        return described


def _sha256_or_none(path: Path | None) -> str | None:
    return sha256_file(path) if path is not None and path.is_file() else None


def pairs_digest(hashes: dict[str, dict[str, str | None]]) -> str:
    """sha256 over one ``name<TAB>clean sha256<TAB>noisy sha256`` line per pair, in the given order (absent: empty)."""
    lines = "".join(f"{name}\t{h['clean'] or ''}\t{h['noisy'] or ''}\n" for name, h in hashes.items())
    return hashlib.sha256(lines.encode()).hexdigest()
