"""The report you can listen to: which utterances are picked, and the page in headless Chromium (players load with
the right duration, spectrograms decode and are not blank, columns sort, nothing goes to the network)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from test_report_html import CHROMIUM, chromium
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app
from gtcrn_bench.suite.config import ListenConfig, Suite
from gtcrn_bench.suite.listen import select

cli = CliRunner()


def toy_suite() -> Suite:
    return Suite.model_validate(
        {
            "name": "t",
            "dataset": {"kind": "paired-dir", "root": str(MINI)},
            "runners": [{"name": "noisy"}, {"name": "gtcrn-offline"}, {"name": "rnnoise"}],
        }
    )


def toy_rows() -> pd.DataFrame:
    """Ten utterances; the input's PESQ rises with the index, rnnoise is bad on u7 and u8, gtcrn is steady."""
    rows = []
    for i in range(10):
        name = f"u{i}"
        rows += [
            {"runner": "noisy", "utterance": name, "pesq_wb": 1.0 + 0.2 * i, "error": ""},
            {"runner": "gtcrn-offline", "utterance": name, "pesq_wb": 3.0, "error": ""},
            {"runner": "rnnoise", "utterance": name, "pesq_wb": 1.0 if i in (7, 8) else 2.9, "error": ""},
        ]
    return pd.DataFrame(rows)


def test_spread_covers_the_inputs_range_from_worst_to_best() -> None:
    picked = [u for u, _ in select(toy_rows(), toy_suite(), ["pesq_wb"], ListenConfig(count=4))]
    assert picked[0] == "u0" and picked[-1] == "u9" and len(picked) == 4


def test_worst_and_best_rank_by_the_systems_mean() -> None:
    worst = [u for u, _ in select(toy_rows(), toy_suite(), ["pesq_wb"], ListenConfig(count=2, pick="worst"))]
    assert sorted(worst) == ["u7", "u8"]
    best = [u for u, _ in select(toy_rows(), toy_suite(), ["pesq_wb"], ListenConfig(count=1, pick="best"))]
    assert best[0] not in ("u7", "u8")


def test_differ_picks_where_gtcrn_and_the_best_other_system_disagree() -> None:
    picked = select(toy_rows(), toy_suite(), ["pesq_wb"], ListenConfig(count=2, pick="differ"))
    assert sorted(u for u, _ in picked) == ["u7", "u8"]
    assert "gtcrn-offline" in picked[0][1] and "rnnoise" in picked[0][1]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three real pairs, three systems, the listening section on two of them."""
    tmp = tmp_path_factory.mktemp("listen")
    suite = tmp / "s.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "listen",
                "dataset": {"kind": "paired-dir", "root": str(MINI)},
                "runners": [
                    {"name": "noisy"},
                    {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}},
                    {"name": "rnnoise"},
                ],
                "metrics": ["pesq_wb", "stoi"],
                "report": {"listen": {"count": 2}},
            }
        )
    )
    out = tmp / "out"
    result = cli.invoke(app, ["run", str(suite), "--out", str(out), "--limit", "3", "-j", "1"])
    assert result.exit_code == 0, result.output
    return out


def test_listen_folder_holds_audio_and_spectrograms_of_every_system(run_dir: Path) -> None:
    folders = sorted((run_dir / "listen").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert sorted(p.stem for p in folder.glob("*.ogg")) == ["clean", "gtcrn-offline", "noisy", "rnnoise"]
        for image in folder.glob("*.png"):
            pixels = np.asarray(Image.open(image).convert("RGB"), dtype=float)
            assert pixels.shape == (120, 260, 3) and pixels.std() > 10  # decoded, and not one flat colour
    text = (run_dir / "report.html").read_text()
    assert re.search(r'<td class="[a-z]*" data-v="[0-9.]+" title="95% CI [0-9.]+ to [0-9.]+">', text)  # hover: the CI
    assert re.search(r"Size of this report: [0-9.]+ MB of HTML \+ [0-9.]+ MB in listen/ \(16 files\)", text)


PROBE = """<script>
window.addEventListener('load', async () => {
  const audios = [...document.querySelectorAll('audio')];
  await Promise.all(audios.map(a => a.readyState >= 1 ? null : new Promise(done => {
    a.addEventListener('loadedmetadata', done); a.addEventListener('error', done); })));
  const b = document.body.dataset;
  b.durations = audios.map(a => a.duration.toFixed(3)).join(',');
  b.expected = [...document.querySelectorAll('figure.clip[data-duration]')].map(f => f.dataset.duration).join(',');
  b.images = [...document.images].map(i => i.complete ? i.naturalWidth : -1).join(',');
  document.querySelector('#comparison thead th:nth-child(2)').click();
  b.sorted = [...document.querySelectorAll('#comparison tbody tr')].map(r => r.cells[1].dataset.v).join(',');
  const input = document.querySelector('input.filter');
  input.value = 'rnnoise'; input.dispatchEvent(new Event('input'));
  const rows = [...document.querySelectorAll('#per-utterance tbody tr')];
  b.visible = rows.filter(r => !r.hidden).map(r => r.cells[0].textContent).join(',');
  b.resources = performance.getEntriesByType('resource').map(e => e.name.split(':')[0]).join(',');
  b.done = 'yes';
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_page_plays_sorts_filters_and_stays_offline(run_dir: Path, tmp_path: Path) -> None:
    probe = run_dir / "probe.html"  # beside the report: the same relative URLs
    probe.write_text((run_dir / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(
        tmp_path, "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000", "--dump-dom", probe.as_uri()
    )
    found = dict(re.findall(r'data-(\w+)="([^"]*)"', dom.split("<body", 1)[1].split(">", 1)[0]))
    assert found.get("done") == "yes", "the page did not finish loading"
    durations = [float(d) for d in found["durations"].split(",")]
    expected = [float(d) for d in found["expected"].split(",")]
    assert len(durations) == len(expected) == 8  # 2 utterances x (clean, noisy, 2 systems)
    assert np.allclose(durations, expected, atol=0.03), (durations, expected)  # Opus frames: 20 ms granularity
    assert all(int(w) > 0 for w in found["images"].split(","))  # every image decoded
    values = [float(v) for v in found["sorted"].split(",") if v]
    assert values == sorted(values) and len(values) >= 3  # the first metric column, ascending after one click
    assert set(found["visible"].split(",")) == {"rnnoise"}
    # every host fails to resolve, yet everything above loaded: nothing came from a network; and nothing asked
    assert not [r for r in found["resources"].split(",") if r.startswith("http")]
    assert not re.search(r'(src|href|action)="(https?:)?//', probe.read_text())


def test_self_contained_report_embeds_everything(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "listen")
    result = cli.invoke(app, ["report", str(copy), "--self-contained", "--listen", "1"])
    assert result.exit_code == 0, result.output
    text = (copy / "report.html").read_text()
    assert not (copy / "listen").exists()
    assert text.count('src="data:audio/ogg;base64,') == 4 and not re.search(r'src="(?!data:)', text)


def test_compare_renders_both_runs_and_their_audio(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    result = cli.invoke(app, ["report", str(run_dir), "--compare", str(other)])
    assert result.exit_code == 0, result.output
    text = (run_dir / "report.html").read_text()
    assert f"Compared with {other}" in text and "The same utterances in the other run" in text
    assert text.count("other run: ") == 8  # the same two utterances, four clips each, from its listen/


def test_a_bad_pick_is_one_line(run_dir: Path) -> None:
    result = cli.invoke(app, ["report", str(run_dir), "--pick", "loudest"])
    assert result.exit_code == 2 and "report.listen.pick" in result.output
    assert json.loads((run_dir / "metadata.json").read_text())["suite"]["name"] == "listen"
