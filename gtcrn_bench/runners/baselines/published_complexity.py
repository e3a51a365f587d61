"""Published size and compute of the baselines whose models the harness cannot count itself.

RNNoise and DeepFilterNet run inside compiled libraries, so their parameters
and MACs are taken from publications and reported as ``kind: "published"``,
never as measured. Runners with ONNX graphs (DTLN, GTCRN in sherpa-onnx) are
counted from the graphs; their published claims are listed for comparison.
Speex and spectral gating have no learned parameters and no entry.
Params are in millions, MACs in G per second of audio (the GTCRN paper's units).
"""

from __future__ import annotations

from typing import Any

GTCRN_TABLE = "GTCRN README table 1 (Rong et al., ICASSP 2024), github.com/Xiaobin-Rong/gtcrn"

_PUBLISHED: dict[str, dict[str, Any]] = {
    "rnnoise": {
        "system": "RNNoise (2018)",
        "params_m": 0.06,
        "gmacs_per_s": 0.04,
        "source": GTCRN_TABLE,
    },
    "deepfilternet3": {
        "system": "DeepFilterNet (2022)",
        "params_m": 1.80,
        "gmacs_per_s": 0.35,
        "source": GTCRN_TABLE,
        "note": "the table's row is the 2022 DeepFilterNet; the runner runs DeepFilterNet3, not in the table",
    },
    "dtln": {
        "system": "DTLN (2020)",
        "params_m": None,
        "gmacs_per_s": None,
        "source": "DTLN README, github.com/breizhn/DTLN (Westhausen & Meyer, Interspeech 2020)",
        "note": "published as 'less than one million parameters', no MACs; count the ONNX stages instead",
    },
    "sherpa-gtcrn": {
        "system": "GTCRN",
        "params_m": 0.05,
        "gmacs_per_s": 0.03,
        "source": GTCRN_TABLE,
        "note": "the published GTCRN ONNX; count the graph (onnx_paths) for the measured figure",
    },
}


def published_complexity(runner_name: str) -> dict[str, Any] | None:
    """The published figures for a runner, marked ``kind: "published"`` with their source; None if none exist."""
    entry = _PUBLISHED.get(runner_name)
    return None if entry is None else {**entry, "kind": "published"}
