"""Reference runners that involve no model."""

from __future__ import annotations

import numpy as np

from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register


@register
class Noisy(Runner):
    """The unprocessed input, so that every table shows the improvement over doing nothing."""

    name = "noisy"
    description = "unprocessed noisy input (the reference row of every comparison)"
    reference_row = True

    def __init__(self) -> None:
        pass

    def process(self, wave: np.ndarray) -> np.ndarray:
        return self.check_input(wave).copy()
