"""Calibration frames for post-training quantisation: real spectrum frames with the caches they really have.

A static quantiser sets each tensor's int8 range from the values it sees. The
caches are inputs of the streaming graph, so calibrating with zero caches (or
random ones) would give ranges no running stream has. Instead the float
streaming model runs frame by frame over real speech and every ``stride``-th
frame is kept *with the caches the model held when that frame arrived*.

The set is named and hashed (sha256 over its arrays, in order), so a sidecar
says exactly which frames set the ranges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gtcrn_bench.audio import read_audio
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.onnx.compare import spectrum, torch_single_thread
from gtcrn_bench.onnx.interface import INPUT_NAMES

CALIBRATION_FRAMES = 300  # frames kept: enough for stable min/max and percentile ranges, quick to run
STRIDE = 4  # keep every 4th frame: neighbouring frames are nearly alike


@dataclass(frozen=True)
class CalibrationSet:
    """Named input feeds (``mix`` and the three caches per frame) and their sha256."""

    name: str
    feeds: list[dict[str, np.ndarray]]

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for feed in self.feeds:
            for key in INPUT_NAMES:
                digest.update(np.ascontiguousarray(feed[key], dtype=np.float32).tobytes())
        return digest.hexdigest()

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "frames": len(self.feeds), "sha256": self.sha256}


def _frames_with_caches(model: torch.nn.Module, wave: np.ndarray, stride: int, limit: int) -> list[dict]:
    """Every ``stride``-th frame of ``wave`` with the caches the float streaming model held before it."""
    spec = spectrum(wave)
    caches = zero_caches()
    kept: list[dict[str, np.ndarray]] = []
    with torch.inference_mode(), torch_single_thread():
        for t in range(min(spec.shape[2], stride * limit)):
            frame = spec[:, :, t : t + 1]
            if t % stride == 0 and len(kept) < limit:
                arrays = [frame, *caches]
                kept.append({n: a.numpy().astype(np.float32) for n, a in zip(INPUT_NAMES, arrays, strict=True)})
            _, *caches = model(frame, *caches)
    return kept


def speech_calibration(
    offline: GTCRN, files: list[Path], frames: int = CALIBRATION_FRAMES, stride: int = STRIDE
) -> CalibrationSet:
    """Up to ``frames`` frames spread over ``files`` (noisy speech), each with its real caches."""
    if not files:
        raise ValueError("calibration needs at least one audio file")
    model = to_stream(offline)
    per_file = max(1, -(-frames // len(files)))
    feeds: list[dict[str, np.ndarray]] = []
    for path in files:
        wave, _ = read_audio(path, quiet=True)
        feeds += _frames_with_caches(model, wave, stride, per_file)
    names = ",".join(sorted(p.name for p in files))
    digest = hashlib.sha256(names.encode()).hexdigest()[:12]
    return CalibrationSet(f"speech:{len(files)} files ({digest}), every {stride}th frame", feeds[:frames])


def silence_calibration(offline: GTCRN, frames: int = 64) -> CalibrationSet:
    """Digital silence: the bad calibration the gate must catch (ranges near zero clip real speech)."""
    model = to_stream(offline)
    wave = np.zeros(256 * (frames * STRIDE + 1), dtype=np.float32)
    return CalibrationSet("silence", _frames_with_caches(model, wave, STRIDE, frames))
