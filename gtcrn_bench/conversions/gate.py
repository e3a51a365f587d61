"""The named tolerances a conversion target must meet, and the checks that apply them.

float32 targets (OpenVINO at f32) are held to ``verify``'s tolerances
(:class:`gtcrn_bench.onnx.tolerances.Tolerances`: spectrum 1e-4, waveform
1e-5 max abs against the PyTorch streaming model). Reduced-precision targets
(float16, int8) cannot meet those by construction; they are held to what a
listener would notice instead:

- ΔPESQ-WB >= -0.05 (mean over the pairs, against the float32 model): about
  the spread of PESQ between resamplers of one file, well under the 0.1-0.2
  that separates published models of this size;
- ΔSTOI >= -0.005 and ΔDNSMOS-OVRL >= -0.05 on the same reasoning;
- for every target: no non-finite frame, and no drift: the long stream (>=
  10,000 frames) repeats one stretch of the pairs, and the waveform error's SNR
  over :data:`DRIFT_WINDOW` frames of its last pass is within :data:`DRIFT_DB`
  of the SNR over the same input at the start (errors in long streams must not grow),
  unless it stays above :data:`DRIFT_FLOOR_DB`, where the error is float32 round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtcrn_bench.onnx.tolerances import Tolerances

DRIFT_WINDOW = 1000  # frames (16 s) at each end of the long stream
DRIFT_DB = 3.0  # allowed loss of error SNR from the first window to the last (half the error power doubling)
MIN_DRIFT_FRAMES = 10_000
# error SNR at which the error is float32 round-off, whatever it does: float32 targets measure 115-136 dB on the
# waveform over the long stream (the 24-bit mantissa carried through recurrences), float16 ~60 dB. ncnn went from
# 127.8 dB to 114.8 dB over 10,000 frames (commit 68ca6c4): a change in round-off, not an error that grows audibly
DRIFT_FLOOR_DB = 100.0


@dataclass(frozen=True)
class QualityTolerances:
    """Least mean deltas against float32 allowed for reduced-precision targets."""

    pesq_wb: float = -0.05
    stoi: float = -0.005
    dnsmos_ovrl: float = -0.05


@dataclass(frozen=True)
class Check:
    """One named check of one target: passed or not, and a message that says what was measured against what."""

    name: str
    passed: bool
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "passed": self.passed, "message": self.message}


def float32_checks(spectrum_max: float, waveform_max: float, tolerances: Tolerances) -> list[Check]:
    """``verify``'s limits on the largest spectrum and waveform differences over every frame."""
    return [
        Check(
            "spectrum",
            spectrum_max <= tolerances.spectrum,
            f"spectrum max abs error {spectrum_max:.3g} (limit {tolerances.spectrum:g})",
        ),
        Check(
            "waveform",
            waveform_max <= tolerances.waveform,
            f"waveform max abs error {waveform_max:.3g} (limit {tolerances.waveform:g})",
        ),
    ]


def quality_checks(deltas: dict[str, float | None], tolerances: QualityTolerances) -> list[Check]:
    """Mean quality deltas against float32 no worse than the limits (a missing delta fails: nothing was shown)."""
    checks = []
    for metric, limit in (
        ("pesq_wb", tolerances.pesq_wb),
        ("stoi", tolerances.stoi),
        ("dnsmos_ovrl", tolerances.dnsmos_ovrl),
    ):
        value = deltas.get(metric)
        if value is None:
            checks.append(Check(f"Δ{metric}", False, f"Δ{metric} could not be computed"))
        else:
            checks.append(Check(f"Δ{metric}", value >= limit, f"Δ{metric} {value:+.4f} (limit {limit:+g})"))
    return checks


def finite_check(non_finite_frames: int, first: int | None) -> Check:
    where = "" if first is None else f", first at frame {first}"
    return Check("finite", non_finite_frames == 0, f"{non_finite_frames} non-finite frames{where}")


def drift_check(frames: int, early_snr_db: float, late_snr_db: float, min_frames: int = MIN_DRIFT_FRAMES) -> Check:
    """The error SNR of the last pass within :data:`DRIFT_DB` of the first on the same input, or still above
    :data:`DRIFT_FLOOR_DB` (round-off); enough frames."""
    if frames < min_frames:
        return Check("drift", False, f"drift stream of {frames} frames is shorter than {min_frames}")
    loss = early_snr_db - late_snr_db
    return Check(
        "drift",
        bool(loss <= DRIFT_DB or late_snr_db >= DRIFT_FLOOR_DB),
        f"error SNR {early_snr_db:.1f} dB at the start, {late_snr_db:.1f} dB on the same input in the last pass "
        f"(loss {loss:+.1f} dB, limit {DRIFT_DB:g} unless the last pass stays above {DRIFT_FLOOR_DB:g} dB) "
        f"over {frames} frames",
    )
