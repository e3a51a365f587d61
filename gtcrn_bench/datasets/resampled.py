"""16 kHz audio for sets stored at other rates: resampled once (soxr VHQ) and cached.

The cache is keyed by the sha256 of the source file's bytes (plus the resampler
settings), not by its path or mtime: a changed file misses the cache by
construction, a copied or moved dataset still hits it, and there is no index to
go stale. Entries are float32 ``.npy`` files (no PCM16 re-quantisation) under
``<store home>/data/resampled-16k/``, written atomically so parallel workers and
killed runs never leave a half file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE, read_audio
from gtcrn_bench.download import CHUNK
from gtcrn_bench.errors import InputError
from gtcrn_bench.files import atomic_path
from gtcrn_bench.store import home

# part of every key: changing how audio is resampled must not reuse old entries
RESAMPLER_ID = f"soxr-VHQ-to-{SAMPLE_RATE}-float32-v1"


def default_cache_dir() -> Path:
    """``<store home>/data/resampled-16k``."""
    return home() / "data" / "resampled-16k"


def cache_key(path: Path) -> str:
    """Hex sha256 of the file's bytes and :data:`RESAMPLER_ID`."""
    digest = hashlib.sha256(RESAMPLER_ID.encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class ResampleCache:
    """Reads any file as 16 kHz mono float32, resampling only on the first read of each file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def entry(self, path: Path) -> Path:
        """Where ``path``'s resampled audio is (or will be) cached."""
        key = cache_key(path)
        return self.root / key[:2] / f"{key}.npy"

    def read(self, path: Path, sample_rate: int | None) -> np.ndarray:
        """The audio at 16 kHz; files already at 16 kHz are read directly and not cached.

        Unreadable or non-finite files raise :class:`~gtcrn_bench.errors.InputError` naming the file.
        """
        if sample_rate == SAMPLE_RATE:
            return read_audio(path, quiet=True)[0]
        try:
            entry = self.entry(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
        try:
            return np.load(entry)
        except (OSError, ValueError):  # not cached yet (or an unreadable entry): resample and (re)write it
            wave = read_audio(path, quiet=True)[0]
            with atomic_path(entry) as tmp:
                np.save(tmp, wave)
            return wave
