"""The listening section of report.html: audio and spectrograms of chosen utterances, every system side by side.

People judge a denoiser by ear first. For each selected utterance the report
shows clean, noisy and every system's output (aligned as it was scored: the
runner's declared delay removed), each with a spectrogram on one frequency axis
and one colour scale per utterance, so differences between systems show.

Audio is written to ``listen/`` beside the report (16 kHz Ogg Opus by default,
a few KB per second, or FLAC), or embedded as data URIs for a report that must
travel as one file. Enhanced audio comes from the run's content-addressed cache;
a runner is built (and run) again only for a clip the cache no longer has.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.datasets import Dataset
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.suite.cache import AudioCache, default_cache_dir, enhance_cached
from gtcrn_bench.suite.config import ListenConfig, Suite

FOLDER = "listen"
SCORE_PREFERENCE = ("pesq_wb", "dnsmos_ovrl", "si_sdr", "stoi")
SPECTROGRAM_RANGE_DB = 80.0  # dynamic range of every spectrogram of one utterance, down from its loudest bin
IMAGE_SIZE = (260, 120)  # width, height in pixels: as report.html shows each spectrogram
MIME = {"opus": ("ogg", "audio/ogg"), "flac": ("flac", "audio/flac")}


@dataclass(frozen=True)
class Clip:
    """One player: a system's audio of one utterance and its spectrogram, as URLs the page can load."""

    system: str
    audio_url: str
    spectrogram_url: str
    duration_s: float
    metrics: dict[str, float] = field(default_factory=dict)
    problem: str = ""  # why there is no audio (the runner failed on this utterance): shown instead of a player


@dataclass(frozen=True)
class ListenItem:
    """One utterance of the listening section, with why it was picked."""

    utterance: str
    reason: str
    clips: list[Clip]


def score_column(per_utt: pd.DataFrame, metric_names: list[str]) -> str | None:
    """The metric utterances are ranked by: PESQ-WB when the run has it, else the first one it has."""
    present = [m for m in metric_names if m in per_utt and pd.to_numeric(per_utt[m], errors="coerce").notna().any()]
    return next((m for m in SCORE_PREFERENCE if m in present), present[0] if present else None)


def scores(per_utt: pd.DataFrame, column: str) -> pd.DataFrame:
    """utterance x runner table of one metric (rows with errors left out)."""
    ok = per_utt[per_utt["error"].fillna("") == ""]
    table = ok.pivot_table(index="utterance", columns="runner", values=column, aggfunc="first")
    return table.apply(pd.to_numeric, errors="coerce")


def default_pair(table: pd.DataFrame, suite: Suite) -> list[str]:
    """GTCRN (the first entry whose runner name starts with gtcrn) and the best other system by mean score."""
    keys = [e.key for e in suite.runners if e.key in table and e.key != suite.reference_key]
    gtcrn = next((e.key for e in suite.runners if e.name.startswith("gtcrn") and e.key in keys), keys[0])
    others = [k for k in keys if k != gtcrn]
    if not others:
        raise GtcrnBenchError("report: listen pick 'differ' needs two systems besides the reference row")
    return [gtcrn, max(others, key=lambda k: table[k].mean())]


def select(per_utt: pd.DataFrame, suite: Suite, metric_names: list[str], config: ListenConfig) -> list[tuple[str, str]]:
    """(utterance, reason) of the ``config.count`` utterances to listen to, in the order they are shown."""
    column = score_column(per_utt, metric_names)
    if column is None or config.count == 0:
        return []
    table = scores(per_utt, column)
    systems = [k for k in table.columns if k != suite.reference_key]
    if config.pick == "differ":
        a, b = config.systems or default_pair(table, suite)
        gap = (table[a] - table[b]).dropna()
        chosen = gap.abs().sort_values(ascending=False).index[: config.count]
        return [(u, f"{a} {column} {table.at[u, a]:.2f} vs {b} {table.at[u, b]:.2f}") for u in chosen]
    if config.pick == "spread" and suite.reference_key in table:
        ranked = table[suite.reference_key].dropna().sort_values()
        picks = np.unique(np.round(np.linspace(0, len(ranked) - 1, min(config.count, len(ranked)))).astype(int))
        return [(ranked.index[i], f"input {column} {ranked.iloc[i]:.2f}") for i in picks]
    mean = table[systems or list(table.columns)].mean(axis=1).dropna().sort_values(ascending=config.pick != "best")
    return [(u, f"mean {column} of the systems {mean[u]:.2f}") for u in mean.index[: config.count]]


def spectrogram_db(wave: np.ndarray) -> np.ndarray:
    """(frequency, time) magnitude in dB: 512-point Hann frames every 256 samples, 0 to 8 kHz."""
    from scipy.signal import stft

    _, _, spec = stft(wave, fs=SAMPLE_RATE, window="hann", nperseg=512, noverlap=256, boundary=None, padded=False)
    return 20 * np.log10(np.abs(spec) + 1e-10)


def png(image_db: np.ndarray, top_db: float) -> bytes:
    """A spectrogram as a small palette PNG (low frequencies at the bottom) on the utterance's colour scale.

    Drawn at the size the page shows it (:data:`IMAGE_SIZE`) with 64 colours:
    about a tenth of a full-resolution RGBA image, which would make the
    spectrograms weigh more than the audio.
    """
    from matplotlib import colormaps
    from PIL import Image

    scaled = np.clip((image_db[::-1] - (top_db - SPECTROGRAM_RANGE_DB)) / SPECTROGRAM_RANGE_DB, 0.0, 1.0)
    rgb = (colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)
    image = Image.fromarray(rgb).resize(IMAGE_SIZE, Image.Resampling.BILINEAR).quantize(colors=64)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def encoded(wave: np.ndarray, audio_format: str) -> bytes:
    """16 kHz audio as Ogg Opus or FLAC bytes (clipped to full scale first, as a player would)."""
    buffer = io.BytesIO()
    subtype = "OPUS" if audio_format == "opus" else "PCM_16"
    sf.write(buffer, np.clip(wave, -1.0, 1.0), SAMPLE_RATE, format=MIME[audio_format][0].upper(), subtype=subtype)
    return buffer.getvalue()


def slug(system: str) -> str:
    """A file name for a system's clip: ``sherpa-gtcrn (dns3)`` -> ``sherpa-gtcrn_dns3_``."""
    return re.sub(r"[^A-Za-z0-9.+-]", "_", system)


def store(data: bytes, path: Path, mime: str, out_dir: Path, embed: bool) -> str:
    """A URL for ``data``: a data URI when embedding, else the file written under ``out_dir`` (relative URL)."""
    if embed:
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.relative_to(out_dir).as_posix()


class SystemAudio:
    """Each system's scored output of an utterance: from the cache, or (cache cleared) by running it again."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.cache = AudioCache(default_cache_dir())
        self.runners: dict[str, Runner] = {}

    def runner(self, key: str) -> Runner:
        if key not in self.runners:
            entry = next(e for e in self.suite.runners if e.key == key)
            self.runners[key] = registry.build(entry.name, entry.params, self.suite.threads)
        return self.runners[key]

    def scored(self, key: str, clean: np.ndarray | None, noisy: np.ndarray) -> np.ndarray:
        """The output as the metrics saw it: the declared delay removed, cut to the reference's length."""
        runner = self.runner(key)
        out, _ = enhance_cached(self.cache, runner, noisy)
        return runner.align(out, clean if clean is not None else noisy)[0]


def clip_metrics(per_utt: pd.DataFrame, utterance: str, key: str, metric_names: list[str]) -> dict[str, float]:
    """The utterance's metrics for one system, as per_utterance.csv has them."""
    row = per_utt[(per_utt["utterance"] == utterance) & (per_utt["runner"] == key)]
    if row.empty:
        return {}
    values = pd.to_numeric(row.iloc[0][metric_names], errors="coerce")
    return {m: float(v) for m, v in values.items() if not np.isnan(v)}


def build_item(
    picked: tuple[str, str],
    dataset: Dataset,
    audio: SystemAudio,
    per_utt: pd.DataFrame,
    metric_names: list[str],
    out_dir: Path,
    embed: bool,
) -> ListenItem:
    """Players and spectrograms of one utterance: clean, noisy, then every system in suite order."""
    name, reason = picked
    utterance = next(u for u in dataset.utterances() if u.name == name)
    clean, noisy = dataset.load(utterance)
    waves: dict[str, np.ndarray] = {}
    if clean is not None:
        waves["clean"] = clean
    waves["noisy"] = noisy
    problems: dict[str, str] = {}
    for entry in audio.suite.runners:
        if entry.key != audio.suite.reference_key:
            try:
                waves[entry.key] = audio.scored(entry.key, clean, noisy)
            except GtcrnBenchError as exc:  # its row has the error too: the section says so and goes on
                problems[entry.key] = str(exc)
    specs = {system: spectrogram_db(wave) for system, wave in waves.items()}
    top = max(float(s.max()) for s in specs.values())
    audio_format = audio.suite.report.listen.format
    extension, mime = MIME[audio_format]
    stem = Path(name).stem
    clips = []
    for system, wave in waves.items():
        base = out_dir / FOLDER / stem / slug(system)
        key = audio.suite.reference_key if system == "noisy" and audio.suite.reference_key else system
        clips.append(
            Clip(
                system,
                store(encoded(wave, audio_format), base.with_suffix(f".{extension}"), mime, out_dir, embed),
                store(png(specs[system], top), base.with_suffix(".png"), "image/png", out_dir, embed),
                round(wave.size / SAMPLE_RATE, 3),
                clip_metrics(per_utt, name, key, metric_names),
            )
        )
    clips += [Clip(system, "", "", 0.0, problem=problem) for system, problem in problems.items()]
    return ListenItem(name, reason, clips)


def build_listening(
    suite: Suite,
    dataset: Dataset,
    per_utt: pd.DataFrame,
    metric_names: list[str],
    out_dir: Path,
    embed: bool = False,
) -> list[ListenItem]:
    """The listening section's content; its files go to ``out_dir/listen`` (replaced) unless embedded."""
    picked = select(per_utt, suite, metric_names, suite.report.listen)
    shutil.rmtree(out_dir / FOLDER, ignore_errors=True)  # a rebuilt report must not keep an older selection's files
    audio = SystemAudio(suite)
    return [build_item(p, dataset, audio, per_utt, metric_names, out_dir, embed) for p in picked]
