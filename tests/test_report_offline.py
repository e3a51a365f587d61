"""Checks of the listening report that the rendering tests leave open: the players hold the outputs exactly as
scored, sorting really reorders rows (both ways), spectrograms decode to real images in the browser, and the page
asks the network for nothing, by Chromium's own request log, with a control page that shows the log can see a
request."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from test_report_html import CHROMIUM, chromium
from typer.testing import CliRunner

from conftest import MINI
from gtcrn_bench.cli import app

cli = CliRunner()
#: after load: each player's duration, each spectrogram's distinct colours (a blank image has one), and the
#: per-utterance table's si_sdr column before and after two clicks on its title
PROBE = """<script>
window.addEventListener('load', async () => {
  const metadata = a => new Promise(done => {
    if (a.readyState >= 1) return done(a.duration);
    a.addEventListener('loadedmetadata', () => done(a.duration));
    a.addEventListener('error', () => done(-1));
  });
  const audios = [...document.querySelectorAll('figure.clip audio')];
  const durations = await Promise.all(audios.map(metadata));
  const expected = audios.map(a => +a.closest('figure').dataset.duration);
  const images = await Promise.all([...document.querySelectorAll('figure.clip img')].map(async img => {
    try { await img.decode(); } catch (e) { return 0; }
    const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
    for (let i = 0; i < px.length; i += 4) seen.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
    return seen.size;
  }));
  const table = document.getElementById('per-utterance');
  const head = table.tHead.rows[0].cells;
  const column = [...head].findIndex(th => th.textContent.trim() === 'si_sdr');
  const values = () => [...table.tBodies[0].rows].map(r => parseFloat(r.cells[column].dataset.v));
  const before = values();
  head[column].click(); const first = values();
  head[column].click(); const second = values();
  document.body.setAttribute('data-probe', JSON.stringify({durations, expected, images, before, first, second}));
});
</script>"""
BROWSER_OWN = "not an origin"  # the initiator of Chromium's own background requests; a page's have an origin


def page_requests(net_log: Path) -> list[str]:
    """http(s)/ws URLs a page asked for, from Chromium's --log-net-log."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e.get("params", {}) for e in log["events"] if e["type"] == start]  # a job's end has no params
    return [
        p["url"]
        for p in starts
        if p.get("initiator") != BROWSER_OWN and p.get("url", "").startswith(("http:", "https:", "ws:", "wss:"))
    ]


def logged_chromium(tmp: Path, page: Path, *args: str) -> str:
    return chromium(
        tmp,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={tmp / 'net.json'}",
        "--virtual-time-budget=15000",
        *args,
        "--dump-dom",
        page.as_uri(),
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real pairs, three systems, lossless audio (format: flac) so the players can be scored again."""
    tmp = tmp_path_factory.mktemp("offline")
    suite = {
        "name": "offline",
        "dataset": {"kind": "paired-dir", "root": str(MINI)},
        "runners": [
            {"name": "noisy"},
            {"name": "gtcrn-offline", "params": {"checkpoint": "vctk"}},
            {"name": "rnnoise"},
        ],
        "metrics": ["si_sdr"],
        "report": {"listen": {"count": 2, "format": "flac"}},
    }
    (tmp / "s.yaml").write_text(yaml.safe_dump(suite))
    result = cli.invoke(app, ["run", str(tmp / "s.yaml"), "--out", str(tmp / "out"), "--limit", "2", "-j", "1"])
    assert result.exit_code == 0, result.output
    return tmp / "out"


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR (Le Roux et al., ICASSP 2019), zero-mean, written out here as an independent check."""
    reference, estimate = reference - reference.mean(), estimate - estimate.mean()
    target = (estimate @ reference) / (reference @ reference) * reference
    return float(10 * np.log10((target @ target) / ((estimate - target) @ (estimate - target))))


def test_each_player_holds_the_output_as_it_was_scored(run_dir: Path) -> None:
    """SI-SDR of a system's decoded FLAC against the decoded clean FLAC is the run's value for that row.

    16-bit FLAC moves SI-SDR by ~1e-4 dB on these pairs; RNNoise's output with its 20 ms delay left in scores
    20-40 dB lower (measured on the mini set), so 0.01 dB tells a scored clip from a shifted one. (PESQ could
    not tell: it aligns the two signals itself.)
    """
    rows = pd.read_csv(run_dir / "per_utterance.csv")
    checked = 0
    for clean_file in sorted((run_dir / "listen").rglob("clean.flac")):
        clean, rate = sf.read(clean_file)
        utterance = rows[rows.utterance.str.startswith(clean_file.parent.name)].utterance.iloc[0]
        for runner in ("gtcrn-offline", "rnnoise"):
            audio, _ = sf.read(clean_file.with_name(f"{runner}.flac"))
            scored = rows[(rows.runner == runner) & (rows.utterance == utterance)]["si_sdr"].item()
            assert rate == 16000 and si_sdr(clean[: audio.size], audio) == pytest.approx(scored, abs=0.01)
            checked += 1
    assert checked == 4


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_players_spectrograms_sorting_and_no_request_in_chromium(run_dir: Path, tmp_path: Path) -> None:
    probe = run_dir / "probe-offline.html"  # beside the report: listen/ resolves
    probe.write_text((run_dir / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    dom = logged_chromium(tmp_path, probe, "--allow-file-access-from-files")  # lets the probe read PNG pixels
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the page did not finish loading"
    seen = json.loads(html.unescape(found.group(1)))
    assert len(seen["durations"]) == 8  # 2 utterances x (clean, noisy, 2 systems)
    # FLAC: the decoder's duration is the sample count / 16 kHz (data-duration is rounded to 1 ms at most)
    assert seen["durations"] == pytest.approx(seen["expected"], abs=2e-3)
    assert len(seen["images"]) == 8 and all(levels > 16 for levels in seen["images"]), seen["images"]
    before, first, second = seen["before"], seen["first"], seen["second"]
    assert first != before and sorted(first) in (first, first[::-1]) and second == first[::-1]
    assert page_requests(tmp_path / "net.json") == []


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_request_log_sees_a_page_that_does_fetch(tmp_path: Path) -> None:
    """The control for the check above: a page that loads from the network shows up in the same log."""
    page = tmp_path / "control.html"
    page.write_text('<img src="http://example.com/a.png"><script>fetch("https://example.org/x")</script>')
    logged_chromium(tmp_path, page)
    assert set(page_requests(tmp_path / "net.json")) == {"http://example.com/a.png", "https://example.org/x"}
