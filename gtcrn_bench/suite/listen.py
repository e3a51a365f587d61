"""The report's listening section: which utterances to play, their audio as scored, and spectrograms.

Each selected utterance gets its clean reference, its noisy input and every
system's output *aligned as scored* (the runner's :meth:`~Runner.align`, so a
streaming model's delay is removed exactly as the metrics saw it). The audio
comes from the run's cache of enhanced audio (:mod:`gtcrn_bench.suite.cache`);
a cache miss (cache cleared, another machine) runs the runner again on that one
utterance, and the report says so.

Audio is written as 16 kHz 16-bit FLAC (soundfile; every current browser plays
it) into ``listen/`` beside the report, or embedded as data URIs. Spectrograms
are palette PNGs with one frequency axis (0-8 kHz, linear) and, within an
utterance, one colour scale, so systems can be compared by eye.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from matplotlib import colormaps
from PIL import Image

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.datasets import Dataset, open_dataset
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.store import home
from gtcrn_bench.suite.cache import AudioCache, cache_key
from gtcrn_bench.suite.config import ListenConfig, Suite
from gtcrn_bench.suite.worker import build_entry

#: scores used to pick utterances, in order of preference
PICK_METRICS = ("pesq_wb", "si_sdr", "stoi")
N_FFT, HOP = 512, 256  # 32 ms frames, 16 ms hop: 257 bins from 0 to 8 kHz
DYNAMIC_RANGE_DB = 80.0  # colour scale: from the utterance's loudest bin down 80 dB
PALETTE_LEVELS = 64  # spectrogram colours; fewer levels keep the PNGs small, 64 still look continuous


@dataclass(frozen=True)
class Clip:
    """One player of an utterance: clean, noisy or a system's aligned output, with its scores."""

    label: str
    run: str  # "" for this run, else the other run's folder name (``report --compare``)
    wave: np.ndarray
    scores: dict[str, float]
    note: str = ""


@dataclass
class ListenItem:
    """A selected utterance and its clips."""

    utterance: str
    reason: str
    clips: list[Clip] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def pick_metric(per_utt: pd.DataFrame) -> str | None:
    """The score that orders utterances: PESQ-WB, else SI-SDR, else STOI (the first the run computed)."""
    return next((m for m in PICK_METRICS if m in per_utt and per_utt[m].notna().any()), None)


def _scores(per_utt: pd.DataFrame, metric: str) -> pd.DataFrame:
    """utterance x runner table of one metric (NaN where a row failed)."""
    values = per_utt.assign(score=pd.to_numeric(per_utt[metric], errors="coerce"))
    return values.pivot_table(index="utterance", columns="runner", values="score", aggfunc="first")


def default_pair(suite: Suite, table: pd.DataFrame) -> tuple[str, str] | None:
    """For ``differ``: the first GTCRN entry and the best-scoring other system (reference row excluded)."""
    keys = [e.key for e in suite.runners if e.key in table and e.key != suite.reference_key]
    gtcrn = next((e.key for e in suite.runners if e.key in keys and e.name.startswith("gtcrn")), None)
    if gtcrn is None:
        return None
    others = [k for k in keys if not any(e.key == k and e.name.startswith("gtcrn") for e in suite.runners)]
    if not others:
        others = [k for k in keys if k != gtcrn]
    if not others:
        return None
    best = max(others, key=lambda k: table[k].mean())
    return gtcrn, best


def pick_utterances(per_utt: pd.DataFrame, suite: Suite, listen: ListenConfig) -> tuple[list[str], dict[str, str]]:
    """The selected utterance names and, for each, why it was picked (shown in the report)."""
    metric = pick_metric(per_utt)
    if metric is None or listen.count == 0:
        return [], {}
    table = _scores(per_utt, metric)
    reference = suite.reference_key
    systems = [c for c in table.columns if c != reference]
    if listen.pick == "differ":
        pair = listen.systems or default_pair(suite, table)
        if pair is None:
            return [], {}
        a, b = pair
        gap = (table[a] - table[b]).dropna()
        chosen = gap.abs().sort_values(ascending=False, kind="stable").head(listen.count)
        return list(chosen.index), {u: f"{metric} {a} - {b} = {gap[u]:+.2f}" for u in chosen.index}
    if listen.pick == "spread":
        base = table[reference] if reference in table else table[systems].mean(axis=1)
        base = base.dropna().sort_values(kind="stable")
        if base.empty:
            return [], {}
        idx = np.unique(np.linspace(0, len(base) - 1, min(listen.count, len(base))).round().astype(int))
        chosen = base.iloc[idx]
        who = reference if reference in table else "mean of systems"
        return list(chosen.index), {u: f"{who} {metric} {v:.2f} (spread)" for u, v in chosen.items()}
    mean = table[systems].mean(axis=1).dropna().sort_values(ascending=listen.pick == "worst", kind="stable")
    chosen = mean.head(listen.count)
    return list(chosen.index), {u: f"mean {metric} of systems {v:.2f} ({listen.pick})" for u, v in chosen.items()}


def _row_scores(per_utt: pd.DataFrame, runner: str, utterance: str, metrics: list[str]) -> dict[str, float]:
    rows = per_utt[(per_utt["runner"] == runner) & (per_utt["utterance"] == utterance)]
    if rows.empty:
        return {}
    row = rows.iloc[0]
    return {m: float(row[m]) for m in metrics if m in row and pd.notna(pd.to_numeric(row[m], errors="coerce"))}


@dataclass(frozen=True)
class RunAudio:
    """Everything needed to get one run's audio back: its suite, dataset and rows."""

    name: str  # "" for the report's own run
    suite: Suite
    dataset_root: str | Path | None
    per_utt: pd.DataFrame
    metrics: list[str]


def _open(run: RunAudio) -> Dataset:
    return open_dataset(run.suite.dataset.kind, run.dataset_root, manifest=run.suite.dataset.manifest)


def _enhanced(runner: Runner, noisy: np.ndarray, cache: AudioCache) -> tuple[np.ndarray, str]:
    """The runner's output from the run's cache, or computed again (and cached) with a note saying so."""
    key = cache_key(noisy, runner.output_identity())
    found = cache.get(key)
    if found is not None:
        return found, ""
    out = runner.enhance(noisy)
    cache.put(key, out)
    return out, "not in the cache: enhanced again for this report"


def collect(run: RunAudio, items: list[ListenItem]) -> None:
    """Add ``run``'s clean, noisy and aligned system outputs to each item (problems recorded, never raised)."""
    try:
        dataset = _open(run)
    except GtcrnBenchError as exc:
        for item in items:
            item.problems.append(f"{run.name or 'this run'}: dataset not readable here ({exc})")
        return
    by_name = {u.name: u for u in dataset.utterances()}
    runners: dict[str, Runner | str] = {}
    for entry in run.suite.runners:
        if entry.key == run.suite.reference_key:
            continue
        try:
            runners[entry.key] = build_entry(entry, run.suite.threads)
        except GtcrnBenchError as exc:
            runners[entry.key] = f"{entry.key}: cannot be built here ({exc})"
    cache = AudioCache(home() / "cache" / "enhanced")
    tag = f" ({run.name})" if run.name else ""
    for item in items:
        utt = by_name.get(item.utterance)
        if utt is None:
            item.problems.append(f"{run.name or 'this run'}: {item.utterance} is not in the dataset")
            continue
        try:
            clean, noisy = dataset.load(utt)
        except GtcrnBenchError as exc:
            item.problems.append(str(exc))
            continue
        if not run.name:  # the inputs once, from the report's own run
            if clean is not None:
                item.clips.append(Clip("clean", "", clean, {}))
            scores = _row_scores(run.per_utt, run.suite.reference_key or "", item.utterance, run.metrics)
            item.clips.append(Clip("noisy", "", noisy, scores))
        for key, runner in runners.items():
            if isinstance(runner, str):
                item.problems.append(runner + tag)
                continue
            try:
                estimate, note = _enhanced(runner, noisy, cache)
            except GtcrnBenchError as exc:
                item.problems.append(f"{key}{tag}: {exc}")
                continue
            aligned = runner.align(estimate, clean)[0] if clean is not None else runner.align_to_input(estimate)
            scores = _row_scores(run.per_utt, key, item.utterance, run.metrics)
            item.clips.append(Clip(key, run.name, aligned, scores, note))


def spectrogram_db(wave: np.ndarray) -> np.ndarray:
    """Magnitude in dB re full scale (a full-scale sine is 0 dB), bins x frames, low frequencies first."""
    if wave.size < N_FFT:
        wave = np.pad(wave, (0, N_FFT - wave.size))
    window = np.hanning(N_FFT).astype(np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(wave, N_FFT)[::HOP] * window
    magnitude = np.abs(np.fft.rfft(frames, axis=-1)) * 2 / window.sum()
    return (20 * np.log10(np.maximum(magnitude, 1e-10))).T


def spectrogram_png(db: np.ndarray, top: float) -> bytes:
    """A palette PNG of ``db`` on the colour scale [top - 80 dB, top], high frequencies at the top."""
    levels = np.clip((db - (top - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0, 1)
    index = np.round(levels[::-1] * (PALETTE_LEVELS - 1)).astype(np.uint8)
    colours = colormaps["magma"](np.linspace(0, 1, PALETTE_LEVELS))[:, :3]
    image = Image.fromarray(index, mode="P")
    image.putpalette((colours * 255).round().astype(np.uint8).ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def flac_bytes(wave: np.ndarray) -> bytes:
    """16 kHz 16-bit FLAC; clipped to [-1, 1] first, as any player would (libsndfile would wrap around)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(wave, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def slug(text: str) -> str:
    """A file-name-safe form of a label (``sherpa-gtcrn (dns3)`` -> ``sherpa-gtcrn_dns3_``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


@dataclass(frozen=True)
class Media:
    """Where a clip's audio and spectrogram are: relative paths into listen/, or data URIs."""

    audio: str
    image: str
    duration_s: float
    nbytes: int


def write_media(items: list[ListenItem], out_dir: Path, embed: bool) -> dict[tuple[str, str, str], Media]:
    """Encode every clip; files go to ``listen/<utterance>/`` unless ``embed``. Keyed by (utterance, run, label)."""
    media: dict[tuple[str, str, str], Media] = {}
    for item in items:
        if not item.clips:  # nothing could be loaded: the item shows its problems only
            continue
        specs = {(c.run, c.label): spectrogram_db(c.wave) for c in item.clips}
        inputs = [db for (run, label), db in specs.items() if label in ("clean", "noisy")] or list(specs.values())
        top = max(float(db.max()) for db in inputs)  # one colour scale for the whole utterance
        folder = out_dir / "listen" / slug(Path(item.utterance).stem)
        for clip in item.clips:
            audio, image = flac_bytes(clip.wave), spectrogram_png(specs[(clip.run, clip.label)], top)
            name = slug(f"{clip.run}-{clip.label}" if clip.run else clip.label)
            if embed:
                audio_ref = "data:audio/flac;base64," + base64.b64encode(audio).decode()
                image_ref = "data:image/png;base64," + base64.b64encode(image).decode()
            else:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{name}.flac").write_bytes(audio)
                (folder / f"{name}.png").write_bytes(image)
                rel = f"listen/{folder.name}/{name}"
                audio_ref, image_ref = f"{rel}.flac", f"{rel}.png"
            duration, size = clip.wave.size / SAMPLE_RATE, len(audio) + len(image)
            media[(item.utterance, clip.run, clip.label)] = Media(audio_ref, image_ref, duration, size)
    return media
