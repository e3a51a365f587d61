"""Log-spectral distance (LSD) of the estimate to the clean reference, own code on ``scipy.signal.stft``.

LSD = mean over frames t of sqrt(mean over bins f of (10 log10 P_ref(t, f) - 10 log10 P_est(t, f))^2),
in dB, where P is the power spectrum of 32 ms Hann frames with a 16 ms hop at
16 kHz (512/256 samples: GTCRN's own STFT size) plus a floor of 1e-8 (-80 dB) so
silent bins stay finite. The definition is the one used for bandwidth extension
and enhancement (e.g. Kuleshov et al. 2017; VERSA); written here because it is a
few lines over scipy's STFT, which no package offers on its own with these
frame conventions. 0 for identical signals, lower is better; scaling the
estimate by a gain g shifts every bin by 20 log10 g dB (tested), so unlike
SI-SDR it is not scale-invariant.
"""

from __future__ import annotations

import numpy as np

from gtcrn_bench.metrics.registry import OWN_DISTRIBUTION, Metric, MetricError, Pair, register

FRAME_S = 0.032
HOP_FRACTION = 0.5
POWER_FLOOR = 1e-8


def log_power(wave: np.ndarray, sample_rate: int) -> np.ndarray:
    """(bins, frames) power spectrum in dB of 32 ms Hann frames, half-overlapping, with the -80 dB floor."""
    from scipy.signal import stft

    width = round(FRAME_S * sample_rate)
    if wave.size < width:
        raise MetricError(f"shorter than one {FRAME_S * 1000:.0f} ms LSD frame")
    _, _, spec = stft(
        wave.astype(np.float64),
        fs=sample_rate,
        window="hann",
        nperseg=width,
        noverlap=round(width * (1 - HOP_FRACTION)),
        boundary=None,
        padded=False,
        scaling="spectrum",
    )
    return 10.0 * np.log10(np.abs(spec) ** 2 + POWER_FLOOR)


def lsd(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Log-spectral distance in dB of ``estimate`` to ``reference`` (same length)."""
    diff = log_power(reference, sample_rate) - log_power(estimate, sample_rate)
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=0))))


def _lsd(pair: Pair) -> dict[str, float]:
    return {"lsd": lsd(pair.estimate, pair.need_reference(), pair.sample_rate)}


register(
    Metric(
        name="lsd",
        higher_is_better=False,
        needs_reference=True,
        package=OWN_DISTRIBUTION,
        implementation="log-spectral distance, 32 ms Hann frames, 16 ms hop, -80 dB power floor, own code",
        compute=_lsd,
        cost_ms_per_s=0.58,
        group="lsd",
        unit="dB",
        uses=("scipy",),
    )
)
