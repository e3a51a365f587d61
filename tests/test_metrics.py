"""Metrics: each equals its package called directly on real VoiceBank+DEMAND pairs, known values hold,
the composite measures behave as documented, and bad input gives empty values with reasons, never an exception."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pesq import pesq
from pystoi import stoi

from conftest import DATA_48K, MINI, read
from gtcrn_bench import metrics
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.metrics import composite
from gtcrn_bench.metrics.pesq_metric import raw_nb
from gtcrn_bench.metrics.registry import Metric, Pair
from gtcrn_bench.metrics.si_sdr import si_sdr

Pairs = list[tuple[str, np.ndarray, np.ndarray]]
EXPECTED = ["pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr"]
EXPECTED += ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808", "csig", "cbak", "covl", "ssnr"]
DNSMOS = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"]
COMPOSITE = ["csig", "cbak", "covl", "ssnr"]
FAST = ["pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", *COMPOSITE]  # everything but DNSMOS (~0.5 s a clip)


def test_registry_lists_every_metric_with_direction_reference_and_provenance() -> None:
    assert metrics.names()[: len(EXPECTED)] == EXPECTED
    assert metrics.resolve_set(None) == metrics.resolve_set("standard") == EXPECTED
    assert metrics.unavailable() == {}
    for name in EXPECTED:
        metric = metrics.get(name)
        assert metric.higher_is_better, name  # every standard metric is a quality score or an SNR
        assert metric.needs_reference == (name not in DNSMOS), name
    prov = metrics.provenance(EXPECTED)
    assert prov["pesq_wb"].startswith("pesq==0.0.4 (")
    assert prov["dnsmos_ovrl"].startswith("speechmos==") and "onnxruntime==" in prov["dnsmos_ovrl"]
    assert prov["csig"].startswith("gtcrn-bench==") and "pesq==" in prov["csig"]
    with pytest.raises(ConfigError, match="unknown metric 'pesq'"):
        metrics.get("pesq")
    with pytest.raises(ConfigError, match="unknown nope"):
        metrics.require(["stoi", "nope"])


def test_a_metric_whose_package_is_missing_is_reported_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from gtcrn_bench.metrics import registry

    def never(pair: Pair) -> dict[str, float]:
        raise AssertionError("must not run without its package")

    ghost = Metric("ghost", True, False, "ghost-dist", "test metric", never, "ghost", modules=("no_such_module_x",))
    monkeypatch.setattr(registry, "METRICS", registry.METRICS.fresh_copy())
    registry.register(ghost)
    assert "ghost" not in metrics.names() and "ghost" in metrics.names(include_unavailable=True)
    assert "no_such_module_x" in metrics.unavailable()["ghost"]
    with pytest.raises(ConfigError, match="ghost"):
        metrics.require(["ghost"])
    result = metrics.compute(["ghost"], np.zeros(16000, np.float32))
    assert result.values["ghost"] is None and "not installed" in result.errors["ghost"]


def test_each_metric_equals_its_package_called_directly(mini_pairs: Pairs) -> None:
    """Same inputs to the same package. Tolerance 1e-12 relative: pystoi's ESTOI itself varies in the last
    bit between two identical calls (BLAS reductions); PESQ and STOI come out bit-identical."""
    for name, clean, noisy in mini_pairs:
        result = metrics.compute(FAST, noisy, clean)
        assert result.errors == {}, name
        assert result.values["pesq_wb"] == pesq(16000, clean, noisy, "wb")
        assert result.values["pesq_nb"] == pesq(16000, clean, noisy, "nb")
        assert result.values["stoi"] == stoi(clean, noisy, 16000, extended=False)
        assert result.values["estoi"] == pytest.approx(stoi(clean, noisy, 16000, extended=True), rel=1e-12)


def test_dnsmos_equals_speechmos_called_directly(mini_pairs: Pairs) -> None:
    """Tolerance 1e-5 MOS: our sessions may use another thread count than speechmos's, which can
    reorder float sums inside onnxruntime; the models, features and polynomials are the same."""
    from speechmos import dnsmos

    for _, _, noisy in mini_pairs[:2]:
        ours = metrics.compute(DNSMOS, noisy).values
        theirs = dnsmos.run(noisy, sr=16000)
        for name, key in (("dnsmos_sig", "sig_mos"), ("dnsmos_bak", "bak_mos"), ("dnsmos_ovrl", "ovrl_mos")):
            assert ours[name] == pytest.approx(theirs[key], abs=1e-5)
        assert ours["dnsmos_p808"] == pytest.approx(theirs["p808_mos"], abs=1e-5)
        assert all(1.0 <= v <= 5.0 for v in ours.values())


def test_pesq_of_a_clean_file_against_itself_is_the_wideband_maximum(mini_pairs: Pairs) -> None:
    """P.862.2 maps a perfect raw score to 4.644 (tolerance: the C code works in float32)."""
    _, clean, _ = mini_pairs[0]
    values = metrics.compute(["pesq_wb", "pesq_nb"], clean, clean).values
    assert values["pesq_wb"] == pytest.approx(4.644, abs=1e-3)
    assert values["pesq_nb"] == pytest.approx(4.549, abs=1e-3)  # P.862.1 of the raw maximum 4.5
    assert raw_nb(values["pesq_nb"]) == pytest.approx(4.5, abs=1e-4)


def _orthogonal_noise(reference: np.ndarray, energy_ratio: float, seed: int) -> np.ndarray:
    """Zero-mean noise orthogonal to the zero-mean reference with |noise|^2 = energy_ratio |reference|^2."""
    rng = np.random.default_rng(seed)
    ref = reference - reference.mean()
    noise = rng.standard_normal(reference.size)
    noise -= noise.mean()
    noise -= (noise @ ref) / (ref @ ref) * ref
    return noise * np.sqrt(energy_ratio * (ref @ ref) / (noise @ noise))


def test_si_sdr_of_a_known_mixture_is_its_snr() -> None:
    """reference + orthogonal noise at 1/100 of its energy: SI-SDR is 20 dB (float64, tolerance 1e-9)."""
    t = np.arange(32000) / 16000
    reference = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05
    estimate = reference + _orthogonal_noise(reference, 0.01, seed=1)
    assert si_sdr(estimate, reference) == pytest.approx(20.0, abs=1e-9)
    assert si_sdr(estimate + 0.2, reference) == pytest.approx(20.0, abs=1e-9)  # zero-mean


def test_si_sdr_is_unaffected_by_scaling_the_estimate(mini_pairs: Pairs) -> None:
    for _, clean, noisy in mini_pairs:
        base = metrics.compute(["si_sdr"], noisy, clean).values["si_sdr"]
        for scale in (0.05, 0.5, -0.9):
            scaled = metrics.compute(["si_sdr"], (noisy * scale).astype(np.float32), clean).values["si_sdr"]
            assert scaled == pytest.approx(base, abs=1e-4)  # float32 rounding of the scaled copy
        assert base < 25.0


def test_composite_measures_stay_in_range_and_rank_less_noise_higher() -> None:
    """On real pairs: CSIG/CBAK/COVL in [1, 5]; the same real noise at a quarter of its amplitude
    scores higher on every composite measure; clean against itself hits the ceilings (5, 35 dB)."""
    names = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[::8]
    for name in names:
        clean, noisy = read(MINI / "clean" / name), read(MINI / "noisy" / name)
        less_noisy = clean + 0.25 * (noisy - clean)
        noisy_scores = metrics.compute(COMPOSITE, noisy, clean).values
        better_scores = metrics.compute(COMPOSITE, less_noisy, clean).values
        for m in ("csig", "cbak", "covl"):
            assert 1.0 <= noisy_scores[m] <= 5.0 and 1.0 <= better_scores[m] <= 5.0, (name, m)
        for m in COMPOSITE:
            assert better_scores[m] > noisy_scores[m], (name, m)
        assert -10.0 <= noisy_scores["ssnr"] <= 35.0
    perfect = metrics.compute(COMPOSITE, clean, clean).values
    assert perfect == {"csig": 5.0, "cbak": 5.0, "covl": 5.0, "ssnr": 35.0}


# LLR, WSS and segSNR of noisy against clean computed by another implementation, pysepm (as packaged in
# pysepm-evo 0.1.1: llr(..., used_for_composite=True), wss, SNRseg on the float64 files), whose authors checked
# it against the MATLAB code of Loizou's book. Not a dependency: that package no longer imports with current
# scipy and lacks a declared dependency, so its values were computed once and are kept here.
PYSEPM_DISTORTIONS = {
    "p232_117.wav": (1.0858836168175487, 48.07712917760255, -1.7941778154581425),
    "p257_271.wav": (2.050770729960406, 63.86609377033798, -3.5672317387774033),
    "p257_356.wav": (0.11586873387292684, 13.174917962782468, 8.735422232066627),
}


def test_llr_wss_and_segmental_snr_match_an_independent_implementation() -> None:
    """Tolerance 1e-8 relative: both work in float64; the largest difference seen is 2e-10 (LLR)."""
    for name, expected in PYSEPM_DISTORTIONS.items():
        clean, noisy = read(MINI / "clean" / name), read(MINI / "noisy" / name)
        assert composite.distortions(clean, noisy, 16000) == pytest.approx(expected, rel=1e-8), name


def test_segmental_snr_of_a_scaled_copy_is_known() -> None:
    """estimate = 0.9 x reference: the error is 0.1 x reference in every frame, so every frame is 20 dB."""
    reference = np.random.default_rng(0).uniform(-0.5, 0.5, 16000)
    framed = composite.frames(reference, 16000)
    assert composite.segmental_snr(framed, 0.9 * framed) == pytest.approx(np.full(len(framed), 20.0), abs=1e-9)


def test_lpc_and_llr_agree_with_an_independent_solver() -> None:
    """Levinson-Durbin against scipy's Toeplitz solver of the normal equations; LLR of a frame with itself is 0."""
    from scipy.linalg import solve_toeplitz

    framed = composite.frames(read(MINI / "clean" / "p232_001.wav").astype(np.float64) + 1e-3, 16000)[40:60]
    lags = composite._autocorrelation(framed, 16)
    filters = composite._levinson(lags)
    for row, lag in zip(filters, lags, strict=True):
        predictor = solve_toeplitz(lag[:16], lag[1:])
        assert row == pytest.approx(np.concatenate([[1.0], -predictor]), abs=1e-8)
    assert composite.log_likelihood_ratio(framed, framed, 16000) == pytest.approx(np.zeros(len(framed)), abs=1e-12)
    assert composite.weighted_spectral_slope(framed, framed, 16000) == pytest.approx(np.zeros(len(framed)))


def _peaks_one_by_one(energy: np.ndarray, slope: np.ndarray) -> list[float]:
    """The nearest-peak rule band by band, as the reference implementation states it (0-based)."""
    peaks = []
    for i in range(slope.size):
        n = i
        if slope[i] > 0:
            while n < slope.size and slope[n] > 0:
                n += 1
            peaks.append(energy[n - 1])
        else:
            while n >= 0 and slope[n] <= 0:
                n -= 1
            peaks.append(energy[n + 1])
    return peaks


def test_vectorised_peak_search_matches_the_band_by_band_rule() -> None:
    rng = np.random.default_rng(3)
    energy = rng.normal(0, 10, (200, 25))
    energy[:5] = np.arange(25)  # all rising
    energy[5:10] = -np.arange(25)  # all falling
    slope = np.diff(energy, axis=1)
    expected = np.array([_peaks_one_by_one(e, s) for e, s in zip(energy, slope, strict=True)])
    assert np.array_equal(composite._nearest_peaks(energy, slope), expected)


def test_bad_estimates_give_reasons_for_every_metric_without_raising(mini_pairs: Pairs) -> None:
    _, clean, noisy = mini_pairs[0]
    nan = noisy.copy()
    nan[100] = np.nan
    clipped = noisy * (1.5 / np.abs(noisy).max())
    cases = {"NaN/Inf samples": nan, "clips": clipped, "empty": np.zeros(0, np.float32), "1-D": noisy[None, :]}
    for expected, estimate in cases.items():
        result = metrics.compute(EXPECTED, estimate, clean)
        assert all(v is None for v in result.values.values()), expected
        assert set(result.errors) == set(EXPECTED) and all(expected in r for r in result.errors.values())
    summary = metrics.compute(EXPECTED, nan, clean).error_summary()
    assert summary.count("NaN/Inf") == 1 and summary.startswith("pesq_wb, pesq_nb,")


def test_bad_references_leave_reference_metrics_empty_and_others_computed(mini_pairs: Pairs) -> None:
    _, clean, noisy = mini_pairs[0]
    cases = {
        "needs the clean reference": None,
        "the reference is silent": np.zeros_like(clean),
        "differ by": clean[: noisy.size - 1600],  # 100 ms short: more than the tolerance
        "NaN/Inf": np.full_like(clean, np.nan),
    }
    for expected, reference in cases.items():
        result = metrics.compute([*FAST, "dnsmos_ovrl"], noisy, reference)
        assert set(result.errors) == set(FAST), expected
        assert all(expected in result.errors[m] for m in FAST), (expected, result.errors)
        assert result.values["dnsmos_ovrl"] is not None


def test_lengths_within_the_tolerance_are_cut_to_the_shorter(mini_pairs: Pairs) -> None:
    _, clean, noisy = mini_pairs[0]
    cut = 400  # 25 ms, within the 32 ms tolerance
    assert cut / 16000 < metrics.LENGTH_TOLERANCE_S
    result = metrics.compute(["pesq_wb", "si_sdr"], noisy, clean[:-cut])
    assert result.errors == {}
    assert result.values["pesq_wb"] == pesq(16000, clean[:-cut], noisy[:-cut], "wb")


def test_too_short_or_silent_inputs_get_each_metrics_own_reason(mini_pairs: Pairs) -> None:
    _, clean, noisy = mini_pairs[0]
    short = metrics.compute(FAST, noisy[:3200], clean[:3200])  # 0.2 s
    assert "shorter than PESQ's minimum of 0.25 s" in short.errors["pesq_wb"]
    assert "too little speech for STOI" in short.errors["stoi"]
    assert "shorter than PESQ's minimum" in short.errors["csig"]  # the composite needs PESQ
    assert short.values["si_sdr"] is not None
    silent = metrics.compute(["pesq_wb", "si_sdr", "stoi"], np.zeros_like(noisy), clean)
    assert "estimate is silent" in silent.errors["pesq_wb"]
    assert "estimate is silent" in silent.errors["si_sdr"]
    unsupported = metrics.compute(["pesq_wb", "dnsmos_ovrl", "stoi"], noisy, clean, sample_rate=22050)
    assert "takes 16000 Hz audio, got 22050 Hz" in unsupported.errors["pesq_wb"]
    assert "takes 16000 Hz" in unsupported.errors["dnsmos_ovrl"]
    assert unsupported.values["stoi"] is not None  # pystoi resamples any rate itself


def test_composite_at_8_khz_uses_the_raw_p862_score(mini_pairs: Pairs) -> None:
    """The paper's own setting: at 8 kHz a perfect estimate has raw P.862 4.5, so CSIG = 3.093 + 0.603 * 4.5 ..."""
    from gtcrn_bench.audio import resample

    _, clean, noisy = mini_pairs[0]
    clean8, noisy8 = resample(clean, 16000, 8000), resample(noisy, 16000, 8000)
    pair = Pair(clean8, clean8, 8000)
    assert composite.pesq_term(pair) == pytest.approx(4.5, abs=1e-4)
    result = metrics.compute([*COMPOSITE, "pesq_nb"], noisy8, clean8, sample_rate=8000)
    assert result.errors == {}
    assert 1.0 <= result.values["covl"] < 5.0


def test_score_files_reports_unreadable_files_and_mismatched_rates(tmp_path: Path) -> None:
    names = ["pesq_wb", "si_sdr", "dnsmos_ovrl"]
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"RIFF not really a wave file")
    clean16 = MINI / "clean" / "p232_050.wav"
    noisy16 = MINI / "noisy" / "p232_050.wav"

    unreadable = metrics.score_files(names, garbage, clean16)
    assert all(v is None for v in unreadable.values.values()) and "cannot read audio" in unreadable.errors["si_sdr"]

    bad_reference = metrics.score_files(names, noisy16, garbage)
    assert "cannot read audio" in bad_reference.errors["pesq_wb"] and bad_reference.values["dnsmos_ovrl"] is not None

    mismatched = metrics.score_files(names[:2], noisy16, DATA_48K / "clean" / "p232_050.wav")
    assert all("sample rates differ" in r for r in mismatched.errors.values()) and len(mismatched.errors) == 2

    both48 = metrics.score_files(["si_sdr"], DATA_48K / "noisy" / "p232_050.wav", DATA_48K / "clean" / "p232_050.wav")
    direct = metrics.compute(["si_sdr"], read(noisy16), read(clean16)).values["si_sdr"]
    assert both48.errors == {}
    assert both48.values["si_sdr"] == pytest.approx(direct, abs=0.5)  # resampled 48 kHz vs the 16 kHz files

    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((16000, 2), np.float32), 16000)
    assert "2 channels" in metrics.score_files(["si_sdr"], stereo, clean16).errors["si_sdr"]
