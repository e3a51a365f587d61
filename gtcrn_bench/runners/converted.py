"""GTCRN converted for deployment (float16, int8, OpenVINO, ...), stepped frame by frame in the target's runtime.

The artefact is built from a checkpoint once and cached in the store
(:func:`gtcrn_bench.convert.build.build_artefact`); calibrated targets take
their calibration frames from ``calibration`` (a folder of noisy speech,
default: the published ``mix.wav``, else generated noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gtcrn_bench.convert.targets import TARGETS, get_target
from gtcrn_bench.runners.base import Countable
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.spectral import SpectralFrameRunner

SILENCE = "silence"  # calibration value that calibrates on digital silence (to show the gate catches it)
CALIBRATION_FILES = 8  # files of a calibration folder used (frames are spread over them)


def calibration_files(folder: str | Path | None) -> list[Path]:
    """Up to :data:`CALIBRATION_FILES` wavs of ``folder`` (a paired dataset's ``noisy/`` when it has one)."""
    from gtcrn_bench.onnx.compare import probe_inputs

    if folder is None:
        probe = probe_inputs()[0]
        return [Path(probe.name)] if Path(probe.name).is_file() else []
    root = Path(folder)
    root = root / "noisy" if (root / "noisy").is_dir() else root
    return sorted(root.glob("*.wav"))[:CALIBRATION_FILES]


@register
class GTCRNConverted(SpectralFrameRunner):
    """A conversion target's artefact in its runtime (see ``gtcrn-bench conversions``)."""

    name = "gtcrn-converted"
    description = "GTCRN converted for deployment (fp16, int8, OpenVINO), frame by frame in the target's runtime"
    packages = ("onnxruntime",)
    aliases: ClassVar[Mapping[str, Mapping[str, Any]]] = {f"gtcrn-{t}": {"target": t} for t in TARGETS}
    thread_param = "threads"

    def __init__(
        self,
        target: str = "onnx-int8-dynamic",
        checkpoint: str = "dns3-stream",
        calibration: str | None = None,
        threads: int = 1,
    ) -> None:
        """``target``: a conversion target; ``checkpoint``: alias or path;
        ``calibration``: a folder of wavs (or a paired set's root), or ``silence``."""
        from gtcrn_bench.convert.build import build_artefact
        from gtcrn_bench.convert.calibration import silence_calibration, speech_calibration
        from gtcrn_bench.models.checkpoint import load_gtcrn

        super().__init__()
        calib = None
        if get_target(target).calibrated:
            offline = load_gtcrn(checkpoint)
            if calibration == SILENCE:
                calib = silence_calibration(offline)
            else:
                files = calibration_files(calibration)
                calib = speech_calibration(offline, files) if files else None
        self.artefact = build_artefact(target, checkpoint, calib)
        self.session = self.artefact.open(threads)

    def artefacts(self) -> dict[str, str]:
        return dict(self.artefact.info["sha256"])

    def countable(self) -> Countable | None:
        """ONNX targets are counted from their graph; other runtimes' files are not ONNX."""
        if self.artefact.path.suffix != ".onnx":
            return None
        return Countable(self.name, onnx_paths=(self.artefact.path,), steps_per_second=self.hops_per_second)

    def reset_state(self) -> None:
        self.session.reset()

    def step(self, spec: np.ndarray) -> np.ndarray:
        return self.session.step(spec)
