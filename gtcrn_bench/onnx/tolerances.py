"""The pass/fail limits of ``gtcrn-bench verify`` and why they are what they are (no heavy imports here).

Defaults from float32 round-off measured on this model (the
waveform is what users hear; the spectrum shows where a difference starts):

- waveform 1e-5: conversions of the same weights differ by ~1e-7 (offline vs
  streaming vs published ONNX: 8.9e-8 to 1.2e-7); 1e-5 is about a third of a
  PCM16 step and leaves 100x for other CPUs and runtimes, while conversion
  faults measured 8e-4 (one layer's weights 1 % off) to 0.15-0.3 (a missing
  batch norm, an unflipped decoder kernel);
- spectrum 1e-4: the same conversions differ by up to 1.2e-5 on spectrum
  values up to ~30 (float32 resolution there is 2e-6), so 1e-4 is ~10x that;
- speed 1.25: latency ratios of the same graphs measured interleaved on a
  loaded 2-core machine scatter by about +-10 %, so a graph 25 % slower is a
  real regression, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass

LATENCY_FRAMES = 3000  # frames timed per graph (48 s of audio): two copies of one graph measure within 1 %


@dataclass(frozen=True)
class Tolerances:
    """Largest allowed max-abs errors against offline PyTorch, and the allowed slowdown against the reference."""

    spectrum: float = 1e-4
    waveform: float = 1e-5
    slowdown: float = 1.25
