"""Enhanced audio cached by content: sha256 of the input samples and of the runner's output identity.

A runner's output identity (:meth:`~gtcrn_bench.runners.base.Runner.output_identity`)
holds its name, parameters, delay, the sha256 of its model files and the versions
of its packages, so changing any of them misses the cache. Thread counts are
left out of it: they change how fast a runner is, not what it outputs, so a run
with other ``threads`` reuses the audio.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench import __version__
from gtcrn_bench.files import atomic_path
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.store import home


def default_cache_dir() -> Path:
    """``<store home>/cache/enhanced``: shared by every run, so a rerun or a report reuses the audio."""
    return home() / "cache" / "enhanced"


def cache_key(wave: np.ndarray, output_identity: dict[str, Any]) -> str:
    """Hex sha256 over the float32 samples, the runner's output identity and the harness version."""
    digest = hashlib.sha256(np.ascontiguousarray(wave, dtype=np.float32).tobytes())
    digest.update(json.dumps(output_identity, sort_keys=True, default=str).encode())
    digest.update(__version__.encode())
    return digest.hexdigest()


class AudioCache:
    """A directory of ``<key>.npy`` files, written atomically so a killed run leaves no half file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self._path(key)
        try:
            return np.load(path)
        except (OSError, ValueError):
            return None

    def put(self, key: str, wave: np.ndarray) -> None:
        with atomic_path(self._path(key)) as tmp:
            np.save(tmp, wave.astype(np.float32, copy=False))


def enhance_cached(
    cache: AudioCache, runner: Runner, noisy: np.ndarray, identity: dict[str, Any] | None = None
) -> tuple[np.ndarray, float | None]:
    """``runner``'s checked output for ``noisy``: from ``cache`` when this exact input and runner ran before,
    else computed (:meth:`~Runner.enhance`) and stored.

    Returns the audio and the processing time in seconds (None when cached).
    ``identity``: the runner's :meth:`~Runner.output_identity` when the caller
    already has it (it may hash model files).
    """
    key = cache_key(noisy, identity if identity is not None else runner.output_identity())
    cached = cache.get(key)
    if cached is not None:
        return cached, None
    start = time.perf_counter()
    out = runner.enhance(noisy)  # checked: NaN/Inf named by sample (or frame), length equal to the input's
    elapsed = time.perf_counter() - start
    cache.put(key, out)
    return out, elapsed
