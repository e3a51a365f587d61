"""Enhanced audio cached by content: sha256 of the input samples and of the runner's identity.

A runner's identity (:meth:`Runner.describe`) holds its name, parameters, delay
and the sha256 of its model files, so changing any of them misses the cache.
Thread counts are left out of the key: they change how fast a runner is, not
what it outputs, so a run with other ``threads`` reuses the audio.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench import __version__

#: runner parameters that set thread counts (onnxruntime, torch, sherpa-onnx): not part of the output's identity
THREAD_PARAMS = frozenset({"threads", "intra_threads", "inter_threads"})


def output_identity(runner_identity: dict[str, Any]) -> dict[str, Any]:
    """The part of a runner's identity that determines its output: everything but thread parameters."""
    params = {k: v for k, v in runner_identity.get("params", {}).items() if k not in THREAD_PARAMS}
    return {**runner_identity, "params": params}


def cache_key(wave: np.ndarray, runner_identity: dict[str, Any]) -> str:
    """Hex sha256 over the float32 samples, the runner's output identity and the harness version."""
    digest = hashlib.sha256(np.ascontiguousarray(wave, dtype=np.float32).tobytes())
    digest.update(json.dumps(output_identity(runner_identity), sort_keys=True, default=str).encode())
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
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, wave.astype(np.float32, copy=False))
        os.replace(tmp, path)
