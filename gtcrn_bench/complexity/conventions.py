"""The named counting conventions: what a MAC figure counts, over which input, per which second.

- ``ptflops-0.7``: the rules of the ptflops package, version 0.7, with which the
  GTCRN paper's "33.0 MMACs/s" was counted: the offline model over the STFT of
  one second of audio, (257, 63, 2); module hooks only, transposed convolutions
  by their output size, biases included (a Linear's once), BatchNorm 2 and
  LayerNorm 1 per element, PReLU 1 per element; Tanh, Sigmoid and tensor
  code outside modules (mask, attention products, input features) not counted.
- ``exact``: the true multiply-accumulates of one streaming step (what a
  deployer pays per frame): every product of a weight with real data and every
  product of two data tensors, nothing else (see :mod:`.formulas` and
  ``docs/complexity.md``); per second = per frame x frames per second (62.5 for GTCRN).
"""

from __future__ import annotations

from dataclasses import dataclass

from gtcrn_bench.errors import ConfigError

PAPER_FRAMES = 63  # frames of the STFT of one second at 16 kHz, hop 256, center=True: the paper's input


@dataclass(frozen=True)
class Convention:
    """A counting convention: its name, what it runs and what it counts."""

    name: str
    runs: str  # "utterance": the offline model over N frames; "step": one streaming call
    counts_functional: bool  # products written as tensor code (x * y, x ** 2, mean) rather than modules
    summary: str


PTFLOPS_07 = Convention(
    "ptflops-0.7",
    runs="utterance",
    counts_functional=False,
    summary="ptflops 0.7's module rules on the offline model over N frames (63 frames = 1 s, the paper's figure)",
)
EXACT = Convention(
    "exact",
    runs="step",
    counts_functional=True,
    summary="every real multiply-accumulate of one streaming frame (BN folded), x frames per second",
)
CONVENTIONS = {c.name: c for c in (PTFLOPS_07, EXACT)}


def get(name: str) -> Convention:
    """The convention called ``name``; the error lists the known ones."""
    if name not in CONVENTIONS:
        raise ConfigError(f"unknown MAC convention '{name}'; choose one of {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
