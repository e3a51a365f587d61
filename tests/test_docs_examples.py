"""The example code of docs/contributing.md ("add a runner / a metric / a dataset kind"), loaded as plugins are.

Each example is registered through the entry-point group its guide names, as an installed package would be, and
then used by the harness with no other change: so the guides cannot drift from what works.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.signal import lfilter
from typer.testing import CliRunner

from conftest import MINI, ROOT, read
from gtcrn_bench.cli import app
from gtcrn_bench.datasets import registry as dataset_registry
from gtcrn_bench.metrics import registry as metric_registry
from gtcrn_bench.runners import registry as runner_registry

EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture
def installed_examples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The three examples installed as a package declaring them as entry points (a dist-info on sys.path, which the
    suite's spawned worker processes inherit), with the registries read afresh and restored afterwards."""
    dist = tmp_path / "gtcrn_bench_examples-0.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gtcrn-bench-examples\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "[gtcrn_bench.runners]\nhighpass = my_highpass:HighPass\n\n"
        "[gtcrn_bench.metrics]\nsnr = my_snr:SNR\n\n"
        "[gtcrn_bench.datasets]\nlist-file = my_listfile:ListFileDataset\n"
    )
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner_registry, "RUNNERS", runner_registry.RUNNERS.fresh_copy())
    monkeypatch.setattr(metric_registry, "METRICS", metric_registry.METRICS.fresh_copy())
    monkeypatch.setattr(dataset_registry, "KINDS", dataset_registry.KINDS.fresh_copy())
    yield
    for module in ("my_highpass", "my_snr", "my_listfile"):
        sys.modules.pop(module, None)


def test_the_example_runner_streams_exactly_what_the_filter_computes(installed_examples: None) -> None:
    runner = runner_registry.build("highpass", {"cutoff_hz": "100"})
    wave = read(MINI / "noisy" / "p232_001.wav")
    r = np.exp(-2 * np.pi * 100 / 16000)
    offline = lfilter([1.0, -1.0], [1.0, -r], wave.astype(np.float64))  # the same filter on the whole file
    np.testing.assert_allclose(runner.enhance(wave), offline, atol=1e-6)  # float32 output of a float64 filter


def test_the_example_metric_matches_its_definition(installed_examples: None) -> None:
    from gtcrn_bench import metrics

    clean = read(MINI / "clean" / "p232_001.wav")
    noise = np.random.default_rng(3).standard_normal(clean.size).astype(np.float32)
    noise *= np.sqrt(np.sum(clean.astype(np.float64) ** 2) / np.sum(noise.astype(np.float64) ** 2)) / 10  # 20 dB
    result = metrics.compute(["snr"], clean + noise, clean)
    assert result.values["snr"] == pytest.approx(20.0, abs=1e-3)
    assert "silent" in metrics.compute(["snr"], noise, np.zeros_like(noise)).errors["snr"]


def test_the_example_dataset_kind_feeds_a_suite_with_the_example_runner_and_metric(
    installed_examples: None, tmp_path: Path
) -> None:
    names = ["p232_001.wav", "p232_002.wav"]
    listing = tmp_path / "pairs.csv"
    listing.write_text("clean,noisy\n" + "".join(f"{MINI}/clean/{n},{MINI}/noisy/{n}\n" for n in names))
    suite = {
        "name": "examples",
        "dataset": {"kind": "list-file", "root": str(listing)},
        "runners": [{"name": "noisy"}, {"name": "highpass"}],
        "metrics": ["snr", "si_sdr"],
        "complexity": False,
    }
    path = tmp_path / "examples.yaml"
    path.write_text(yaml.safe_dump(suite))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "-j", "1", "--strict"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "per_utterance.csv")
    assert len(rows) == 4 and rows["error"].isna().all() and rows["snr"].notna().all()
    assert set(rows["utterance"]) == set(names)
