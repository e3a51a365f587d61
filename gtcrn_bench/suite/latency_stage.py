"""The suite's latency stage: every runner timed per frame, interleaved, after the quality rows are done.

Runs in the main process once the workers have finished, so the timings do not
compete with metric computation. Writes ``latency.json`` (stats by runner key;
the report's RTF column) and ``latency_frames.npz`` (per-frame model-call times
in ms; the report's histograms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.files import write_json
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.threads import limit_process_threads
from gtcrn_bench.suite.config import Suite


def real_audio(dataset: Any, utterances: list[Any]) -> np.ndarray:
    """The noisy side of the first utterance that loads: timing runs on real speech, not silence."""
    for utt in utterances:
        try:
            return dataset.load(utt)[1]
        except GtcrnBenchError:
            continue
    raise GtcrnBenchError("latency: no utterance of the dataset could be loaded to time the runners on")


def run_latency_stage(suite: Suite, dataset: Any, utterances: list[Any], out_dir: Path) -> dict[str, dict]:
    """Time the suite's runners (``suite.latency`` frames, ``suite.threads`` threads) and write the two files."""
    from gtcrn_bench.latency import suite_latency

    assert suite.latency is not None
    limit_process_threads(suite.threads)
    timed = [e for e in suite.runners if not registry.get(e.name).reference_row]  # the reference row computes nothing
    runners = {e.key: registry.build(e.name, e.params, suite.threads) for e in timed}
    stats, per_frame = suite_latency(
        runners, suite.latency.frames, suite.latency.warmup, real_audio(dataset, utterances)
    )
    write_json(out_dir / "latency.json", stats)
    np.savez(out_dir / "latency_frames.npz", **per_frame)
    return stats
