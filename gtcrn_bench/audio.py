"""Reading and writing audio: 16 kHz mono float32 in the harness, with clear errors for bad files."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from gtcrn_bench.errors import InputError

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`read_audio` found and did, for logs and metadata."""

    path: Path
    sample_rate: int
    channels: int
    resampled: bool
    downmixed: bool


def resample(wave: np.ndarray, from_sr: int, to_sr: int) -> np.ndarray:
    """High-quality resampling (soxr 'VHQ'); a no-op when the rates are equal."""
    if from_sr == to_sr:
        return wave
    return soxr.resample(wave, from_sr, to_sr, quality="VHQ").astype(np.float32, copy=False)


def read_audio(
    path: str | Path, *, sample_rate: int = SAMPLE_RATE, downmix: bool = False, quiet: bool = False
) -> tuple[np.ndarray, AudioInfo]:
    """Read a file as mono float32 at ``sample_rate``.

    Other rates are resampled (and said so on stderr unless ``quiet``); multi-channel
    input is refused unless ``downmix`` averages the channels; unreadable, empty
    or non-finite files raise :class:`InputError` naming the file.
    """
    path = Path(path)
    if not path.is_file():  # libsndfile would say only "System error."
        raise InputError(f"{path}: {'is a folder, not an audio file' if path.is_dir() else 'no such file'}")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise InputError(f"{path}: cannot read audio ({exc})") from exc
    if data.shape[0] == 0:
        raise InputError(f"{path}: the file holds no samples")
    channels = data.shape[1]
    if channels > 1 and not downmix:
        raise InputError(f"{path}: {channels} channels; the models take mono audio (use --downmix to average them)")
    wave = data.mean(axis=1) if channels > 1 else data[:, 0]
    if not np.all(np.isfinite(wave)):
        raise InputError(f"{path}: the audio contains NaN or Inf samples")
    resampled = sr != sample_rate
    if resampled:
        if not quiet:
            print(f"{path}: resampling {sr} Hz -> {sample_rate} Hz (soxr VHQ)", file=sys.stderr)
        wave = resample(wave, sr, sample_rate)
    info = AudioInfo(path, sr, channels, resampled, channels > 1)
    return np.ascontiguousarray(wave, dtype=np.float32), info


def write_audio(path: str | Path, wave: np.ndarray, sample_rate: int = SAMPLE_RATE, subtype: str = "PCM_16") -> None:
    """Write mono audio; PCM subtypes are clipped to [-1, 1] by soundfile.

    A folder that cannot be made, a full disk or a format that does not take the
    subtype (FLAC with FLOAT) raises :class:`InputError` naming the file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), wave, sample_rate, subtype=subtype)
    except (sf.LibsndfileError, ValueError, TypeError, OSError) as exc:
        raise InputError(f"{path}: cannot write {subtype} audio ({exc})") from exc
