"""report.html needs nothing but itself and its listen/ folder, and renders in headless Chromium with every figure."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app

cli = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# flags for a closed network and root: no sandbox, no background traffic, a fresh profile
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PROBE = (
    "<script>window.addEventListener('load', () => document.body.setAttribute('data-images',"
    " [...document.images].map(i => i.complete ? i.naturalWidth : -1).join(',')));</script>"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("html")
    suite = tmp / "s.yaml"
    suite.write_text(
        f"name: html\ndataset: {{kind: paired-dir, root: '{MINI}', published: vctk-demand}}\n"
        "runners: [{name: noisy}, {name: gtcrn-offline, params: {checkpoint: vctk}}, {name: rnnoise}]\n"
        "metrics: [pesq_wb, stoi, si_sdr]\n"
    )
    result = cli.invoke(app, ["run", str(suite), "--out", str(tmp / "out"), "--limit", "2", "-j", "1"])
    assert result.exit_code == 0, result.output
    return tmp / "out" / "report.html"


def chromium(tmp: Path, *args: str) -> str:
    profile = tmp / "profile"
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )
    return done.stdout


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert text.count('src="data:image/png;base64,') >= 2  # metric bars and quality vs compute, embedded
    assert not re.search(r'src="(?!data:|listen/)', text)  # nothing but itself and its listen/ folder
    assert "published" in text and "gtcrn-offline" in text


def test_report_marks_published_complexity_and_the_best_cells(report: Path) -> None:
    complexity = json.loads((report.parent / "complexity.json").read_text())
    assert complexity["gtcrn-offline"]["kind"] == "measured" and complexity["gtcrn-offline"]["params_total"] == 48245
    assert complexity["rnnoise"]["kind"] == "published" and "GTCRN README" in complexity["rnnoise"]["source"]
    text = report.read_text()
    assert re.search(r'<td class="" data-v="60000.0" title="">60.0 K \(published\)</td>', text)  # a compiled library
    assert re.search(r'<td class="best" data-v="48245.0" title="">48.2 K</td>', text)  # GTCRN's counted: the fewest
    assert "60.0 K (published)" in (report.parent / "report.md").read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_report_renders_in_headless_chromium_with_images(report: Path, tmp_path: Path) -> None:
    probe = report.parent / "probe.html"  # beside the report, so its listen/ images resolve
    probe.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    widths = re.search(r'data-images="([^"]*)"', dom)
    assert widths, "the page did not finish loading"
    assert all(int(w) > 100 for w in widths.group(1).split(",")), widths.group(1)

    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1400,1800", "--hide-scrollbars", f"--screenshot={shot}", report.as_uri())
    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    bar_blue = np.array([0x4C, 0x72, 0xB0]) / 255  # the bars' colour: only the embedded figures have it
    assert (np.abs(pixels - bar_blue).max(axis=-1) < 0.03).sum() > 500
