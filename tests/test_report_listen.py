"""Which utterances the listening section picks, the suite's report.listen key, and the spectrogram's scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.suite.config import ListenConfig, validate_suite
from gtcrn_bench.suite.listen import pick_utterances, spectrogram_db

SUITE = {
    "name": "t",
    "dataset": {"kind": "paired-dir", "root": "."},
    "runners": [
        {"name": "noisy"},
        {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}},
        {"name": "rnnoise"},
        {"name": "speex"},
    ],
}
# ten utterances; noisy PESQ-WB rises with the index, GTCRN is 1.0 above it, RNNoise 0.5 above,
# speex equal to the noisy input except on u3 (+2.5) and u7 (-1.0)
NOISY = np.linspace(1.1, 2.9, 10)
SCORES = {
    "noisy": NOISY,
    "gtcrn-offline": NOISY + 1.0,
    "rnnoise": NOISY + 0.5,
    "speex": NOISY + np.where(np.arange(10) == 3, 2.5, 0) - np.where(np.arange(10) == 7, 1.0, 0),
}


def rows() -> pd.DataFrame:
    shuffled = np.random.default_rng(0).permutation(10)  # row order must not matter
    return pd.DataFrame(
        [
            {"runner": r, "utterance": f"u{i}.wav", "pesq_wb": SCORES[r][i], "error": ""}
            for r in SCORES
            for i in shuffled
        ]
    )


def picked(**listen: object) -> tuple[list[str], dict[str, str]]:
    suite = validate_suite({**SUITE, "report": {"listen": listen}}, None)
    return pick_utterances(rows(), suite, suite.report.listen)


def pick(**listen: object) -> list[str]:
    return picked(**listen)[0]


def test_spread_covers_the_noisy_inputs_range_evenly() -> None:
    assert pick(count=4) == ["u0.wav", "u3.wav", "u6.wav", "u9.wav"]  # lowest, highest and between
    assert len(pick(count=50)) == 10  # never more than the run has


def test_worst_and_best_rank_by_the_systems_mean() -> None:
    # systems' mean: noisy + (1.0 + 0.5 + speex offset) / 3; u7 loses 1/3, u3 gains 5/6
    assert pick(count=2, pick="worst") == ["u0.wav", "u1.wav"]
    assert pick(count=1, pick="best") == ["u9.wav"]
    assert pick(count=3, pick="best")[:2] == ["u9.wav", "u8.wav"]


def test_differ_defaults_to_gtcrn_against_the_best_other_system() -> None:
    # named: GTCRN - speex is 1.0 except on u7 (2.0) and u3 (-1.5)
    assert pick(count=2, pick="differ", systems=["gtcrn-offline", "speex"]) == ["u7.wav", "u3.wav"]
    # default: the best other system by mean PESQ-WB is rnnoise (+0.5; speex +0.15)
    names, reasons = picked(count=3, pick="differ")
    assert len(names) == 3 and all("gtcrn-offline - rnnoise = +0.50" in r for r in reasons.values())


def test_listen_keys_are_checked_when_the_suite_is_read() -> None:
    with pytest.raises(ConfigError, match=r"report.listen.systems: \['dtln'\] are not runner entries"):
        validate_suite({**SUITE, "report": {"listen": {"pick": "differ", "systems": ["gtcrn-offline", "dtln"]}}}, None)
    with pytest.raises(ConfigError, match=r"report\.listen\.pick"):
        validate_suite({**SUITE, "report": {"listen": {"pick": "random"}}}, None)
    assert ListenConfig().count == 12 and ListenConfig().pick == "spread"


def test_spectrogram_is_in_db_re_full_scale() -> None:
    """A full-scale 1 kHz sine peaks at 0 dB in the 1 kHz bin (32 ms frames: 31.25 Hz per bin, bin 32)."""
    t = np.arange(16000) / 16000
    db = spectrogram_db(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert db.shape[0] == 257
    assert np.argmax(db[:, 10]) == 32 and db[32, 10] == pytest.approx(0.0, abs=0.1)
