"""Composite quality measures CSIG, CBAK, COVL (Hu & Loizou 2008) and segmental SNR, own code.

No package on PyPI provides them, so they are written here from the published
definitions:

- Y. Hu and P. C. Loizou, "Evaluation of objective quality measures for speech
  enhancement", IEEE TASLP 16(1):229-238, 2008: the regressions
  CSIG = 3.093 - 1.029 LLR + 0.603 PESQ - 0.009 WSS,
  CBAK = 1.634 + 0.478 PESQ - 0.007 WSS + 0.063 segSNR,
  COVL = 1.594 + 0.805 PESQ - 0.512 LLR - 0.007 WSS, each limited to [1, 5];
  LLR and WSS are the means of the lowest 95 % of frame values, segSNR the mean
  over all frames of per-frame SNRs limited to [-10, 35] dB.
- The frame conventions of the authors' reference MATLAB implementation
  (composite.m from P. C. Loizou, "Speech Enhancement: Theory and Practice",
  used for the published regressions): 30 ms frames, hop of a quarter frame,
  the Hann window 0.5 (1 - cos(2 pi k / (W + 1))), k = 1..W, floor((N - W) / H)
  frames (the last whole frame is not used), eps added to both signals; LPC
  order 10 below 10 kHz and 16 above (autocorrelation method, Levinson-Durbin),
  LLR = log(a_e R_c a_e' / a_c R_c a_c'); WSS (Klatt 1982) on 25 Gaussian
  critical-band filters spanning 0-4 kHz, FFT of 2^ceil(log2(2W)) points,
  filters below -30 dB zeroed, band energies floored at -100 dB, Kmax = 20,
  Klocmax = 1, normalised by the sum of the weights. The reference
  implementation's nearest-peak search takes, for a rising slope, the band
  just below the peak it finds; that is kept so values match it.
- The PESQ term: the paper fitted the raw narrowband P.862 score on 8 kHz
  speech, and the reference implementation passes the raw P.862 score at 8 kHz
  but the P.862.2 wideband MOS-LQO at 16 kHz (its pesq() returns only that for
  wideband). This module does the same: at 16 kHz it reuses ``pesq_wb``, so
  scores are comparable with the VoiceBank+DEMAND literature; at 8 kHz it uses
  the raw P.862 score (recovered from the package's P.862.1 MOS-LQO).
"""

from __future__ import annotations

import numpy as np

from gtcrn_bench.metrics.pesq_metric import pesq_score, raw_nb
from gtcrn_bench.metrics.registry import OWN_DISTRIBUTION, Metric, MetricError, Pair, register

FRAME_S = 0.030
LOWEST_FRACTION = 0.95
SEGSNR_LIMITS = (-10.0, 35.0)
K_MAX, K_LOCMAX = 20.0, 1.0
FLOOR_DB_POWER = 1e-10
EPS = float(np.finfo(np.float64).eps)
# Centre frequency and bandwidth (Hz) of the 25 critical bands of the WSS measure.
CRITICAL_BANDS = (
    (50.0, 70.0), (120.0, 70.0), (190.0, 70.0), (260.0, 70.0), (330.0, 70.0),
    (400.0, 70.0), (470.0, 70.0), (540.0, 77.3724), (617.372, 86.0056), (703.378, 95.3398),
    (798.717, 105.411), (904.128, 116.256), (1020.38, 127.914), (1148.30, 140.423), (1288.72, 153.823),
    (1442.54, 168.154), (1610.70, 183.457), (1794.16, 199.776), (1993.93, 217.153), (2211.08, 235.631),
    (2446.71, 255.255), (2701.97, 276.072), (2978.04, 298.126), (3276.17, 321.465), (3597.63, 346.136),
)  # fmt: skip


def frames(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """(n_frames, W) Hann-windowed 30 ms frames with a W/4 hop, as in the reference implementation."""
    width = round(FRAME_S * sample_rate)
    hop = width // 4
    count = (signal.size - width) // hop
    if count < 1:
        raise MetricError(f"shorter than one {FRAME_S * 1000:.0f} ms analysis frame plus a hop")
    window = 0.5 * (1.0 - np.cos(2.0 * np.pi * np.arange(1, width + 1) / (width + 1)))
    starts = np.arange(count) * hop
    return signal[starts[:, None] + np.arange(width)] * window


def lowest_mean(values: np.ndarray) -> float:
    """Mean of the lowest 95 % of ``values`` (count rounded half up, as MATLAB's round)."""
    keep = max(1, int(np.floor(values.size * LOWEST_FRACTION + 0.5)))
    return float(np.mean(np.sort(values)[:keep]))


def segmental_snr(clean: np.ndarray, processed: np.ndarray) -> np.ndarray:
    """Per-frame SNR in dB, limited to [-10, 35]."""
    signal_energy = np.sum(clean**2, axis=1)
    noise_energy = np.sum((clean - processed) ** 2, axis=1)
    snr = 10.0 * np.log10(signal_energy / (noise_energy + EPS) + EPS)
    return np.clip(snr, *SEGSNR_LIMITS)


def _levinson(lags: np.ndarray) -> np.ndarray:
    """Prediction-error filters [1, -a_1, ..., -a_p] per row of autocorrelation lags (Levinson-Durbin)."""
    n, order = lags.shape[0], lags.shape[1] - 1
    a = np.zeros((n, order + 1))
    error = lags[:, 0].copy()
    for i in range(1, order + 1):
        reflection = (lags[:, i] - np.sum(a[:, 1:i] * lags[:, i - 1 : 0 : -1], axis=1)) / error
        previous = a[:, 1:i].copy()
        a[:, i] = reflection
        a[:, 1:i] = previous - reflection[:, None] * previous[:, ::-1]
        error = (1.0 - reflection**2) * error
    filters = -a
    filters[:, 0] = 1.0
    return filters


def _autocorrelation(framed: np.ndarray, order: int) -> np.ndarray:
    width = framed.shape[1]
    return np.stack([np.sum(framed[:, : width - k] * framed[:, k:], axis=1) for k in range(order + 1)], axis=1)


def log_likelihood_ratio(clean: np.ndarray, processed: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame LLR of the processed frame's LPC model against the clean frame's."""
    order = 10 if sample_rate < 10000 else 16
    clean_lags = _autocorrelation(clean, order)
    a_clean = _levinson(clean_lags)
    a_processed = _levinson(_autocorrelation(processed, order))
    index = np.abs(np.arange(order + 1)[:, None] - np.arange(order + 1)[None, :])
    toeplitz = clean_lags[:, index]  # (frames, p+1, p+1) autocorrelation matrices of the clean frames
    numerator = np.einsum("fi,fij,fj->f", a_processed, toeplitz, a_processed)
    denominator = np.einsum("fi,fij,fj->f", a_clean, toeplitz, a_clean)
    return np.log(numerator / denominator)


def _critical_band_filters(n_fft: int, sample_rate: int) -> np.ndarray:
    """(25, n_fft/2) Gaussian critical-band weights with equal areas, zero below -30 dB."""
    half = n_fft // 2
    nyquist = sample_rate / 2.0
    bins = np.arange(half)
    min_bandwidth = CRITICAL_BANDS[0][1]
    rows = []
    for centre, bandwidth in CRITICAL_BANDS:
        centre_bin = np.floor(centre / nyquist * half)
        width_bins = bandwidth / nyquist * half
        row = np.exp(-11.0 * ((bins - centre_bin) / width_bins) ** 2 + np.log(min_bandwidth) - np.log(bandwidth))
        rows.append(np.where(row > np.exp(-30.0 / (2.0 * 2.303)), row, 0.0))
    return np.array(rows)


def _nearest_peaks(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Per band, the energy of the nearest spectral peak (rightwards on a rising slope, else leftwards)."""
    bands = slope.shape[1]
    next_fall = np.empty(slope.shape, dtype=int)  # first band >= i whose slope is <= 0 (bands if none)
    last_rise = np.empty(slope.shape, dtype=int)  # last band <= i whose slope is > 0 (-1 if none)
    upcoming = np.full(slope.shape[0], bands)
    for i in range(bands - 1, -1, -1):
        upcoming = np.where(slope[:, i] <= 0, i, upcoming)
        next_fall[:, i] = upcoming
    latest = np.full(slope.shape[0], -1)
    for i in range(bands):
        latest = np.where(slope[:, i] > 0, i, latest)
        last_rise[:, i] = latest
    peak_band = np.where(slope > 0, next_fall - 1, last_rise + 1)
    return np.take_along_axis(energy, peak_band, axis=1)


def weighted_spectral_slope(clean: np.ndarray, processed: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame WSS distance (Klatt 1982) between clean and processed frames."""
    n_fft = 2 ** int(np.ceil(np.log2(2 * clean.shape[1])))
    filters = _critical_band_filters(n_fft, sample_rate)

    def band_energy_db(framed: np.ndarray) -> np.ndarray:
        power = np.abs(np.fft.rfft(framed, n_fft, axis=1)[:, : n_fft // 2]) ** 2
        return 10.0 * np.log10(np.maximum(power @ filters.T, FLOOR_DB_POWER))

    def weights(energy: np.ndarray, slope: np.ndarray) -> np.ndarray:
        below = energy[:, :-1]
        global_max = K_MAX / (K_MAX + energy.max(axis=1, keepdims=True) - below)
        local_max = K_LOCMAX / (K_LOCMAX + _nearest_peaks(energy, slope) - below)
        return global_max * local_max

    clean_db, processed_db = band_energy_db(clean), band_energy_db(processed)
    clean_slope, processed_slope = np.diff(clean_db, axis=1), np.diff(processed_db, axis=1)
    w = (weights(clean_db, clean_slope) + weights(processed_db, processed_slope)) / 2.0
    return np.sum(w * (clean_slope - processed_slope) ** 2, axis=1) / np.sum(w, axis=1)


def pesq_term(pair: Pair) -> float:
    """The PESQ input of the regressions: P.862.2 MOS-LQO at 16 kHz, raw P.862 at 8 kHz (see module doc)."""
    if pair.sample_rate == 16000:
        return pesq_score(pair, "wb")
    return raw_nb(pesq_score(pair, "nb"))


def distortions(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> tuple[float, float, float]:
    """The utterance's LLR and WSS (means of the lowest 95 % of frames) and segmental SNR (mean of all frames)."""
    clean = frames(reference.astype(np.float64) + EPS, sample_rate)
    processed = frames(estimate.astype(np.float64) + EPS, sample_rate)
    llr = lowest_mean(log_likelihood_ratio(clean, processed, sample_rate))
    wss = lowest_mean(weighted_spectral_slope(clean, processed, sample_rate))
    return llr, wss, float(np.mean(segmental_snr(clean, processed)))


def composite(pair: Pair) -> dict[str, float]:
    """CSIG, CBAK, COVL (limited to [1, 5]) and the segmental SNR of one pair."""
    llr, wss, seg_snr = distortions(pair.need_reference(), pair.estimate, pair.sample_rate)
    pesq = pesq_term(pair)
    csig = 3.093 - 1.029 * llr + 0.603 * pesq - 0.009 * wss
    cbak = 1.634 + 0.478 * pesq - 0.007 * wss + 0.063 * seg_snr
    covl = 1.594 + 0.805 * pesq - 0.512 * llr - 0.007 * wss
    limited = {name: float(np.clip(v, 1.0, 5.0)) for name, v in (("csig", csig), ("cbak", cbak), ("covl", covl))}
    return {**limited, "ssnr": seg_snr}


_DESCRIPTIONS = {
    "csig": ("MOS", "composite signal-distortion rating CSIG (Hu & Loizou 2008)"),
    "cbak": ("MOS", "composite background-intrusiveness rating CBAK (Hu & Loizou 2008)"),
    "covl": ("MOS", "composite overall-quality rating COVL (Hu & Loizou 2008)"),
    "ssnr": ("dB", "segmental SNR, 30 ms frames limited to [-10, 35] dB (as in Hu & Loizou 2008)"),
}
for _name, (_unit, _what) in _DESCRIPTIONS.items():
    register(
        Metric(
            name=_name,
            higher_is_better=True,
            needs_reference=True,
            package=OWN_DISTRIBUTION,
            implementation=f"{_what}, own code; PESQ term: P.862.2 MOS-LQO at 16 kHz, raw P.862 at 8 kHz",
            compute=composite,
            cost_ms_per_s=13.0,
            group="composite",
            unit=_unit,
            sample_rates=(8000, 16000),
            modules=("pesq",),
            uses=("pesq",),
        )
    )
