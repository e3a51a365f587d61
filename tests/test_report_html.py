"""report.html renders in headless Chromium: figures, the listening section's players and spectrograms, sorting,
and no network request; its audio is each system's output aligned as scored."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
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


def test_report_refers_only_to_embedded_figures_and_its_listen_folder(report: Path) -> None:
    text = report.read_text()
    assert text.count('src="data:image/png;base64,') >= 2  # metric bars and quality vs compute, embedded
    files = re.findall(r'src="(?!data:)([^"]*)"', text)
    assert files and all(f.startswith("listen/") and (report.parent / f).is_file() for f in files)
    assert "published" in text and "gtcrn-offline" in text


def test_report_marks_published_complexity_and_the_best_cells(report: Path) -> None:
    complexity = json.loads((report.parent / "complexity.json").read_text())
    assert complexity["gtcrn-offline"]["kind"] == "measured" and complexity["gtcrn-offline"]["params_total"] == 48245
    assert complexity["rnnoise"]["kind"] == "published" and "GTCRN README" in complexity["rnnoise"]["source"]
    text = report.read_text()
    # RNNoise runs in a compiled library: its figure is cited
    assert re.search(r'<td class="" data-v="60000">60.0 K \(published\)</td>', text)
    assert re.search(r'<td class="best" data-v="48245">48.2 K</td>', text)  # GTCRN's counted parameters: the fewest
    assert "60.0 K (published)" in (report.parent / "report.md").read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_report_renders_in_headless_chromium_with_images(report: Path, tmp_path: Path) -> None:
    probe = report.with_name("probe-figures.html")  # beside the report, so the spectrograms in listen/ resolve
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


# --- the listening section ------------------------------------------------------------------------------------------

#: reads, after load, what a listener would notice: each player's duration, each spectrogram's decoded pixels
#: (distinct colours: a blank image has one), and the per-utterance table's PESQ-WB column before and after
#: two clicks on its title
LISTEN_PROBE = """<script>
window.addEventListener('load', async () => {
  const metadata = a => new Promise(done => {
    if (a.readyState >= 1) return done(a.duration);
    a.addEventListener('loadedmetadata', () => done(a.duration));
    a.addEventListener('error', () => done(-1));
  });
  const audios = [...document.querySelectorAll('audio')];
  const durations = await Promise.all(audios.map(metadata));
  const images = await Promise.all([...document.querySelectorAll('img.spec')].map(async img => {
    try { await img.decode(); } catch (e) { return {w: 0, levels: 0}; }
    const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
    for (let i = 0; i < px.length; i += 4) seen.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
    return {w: img.naturalWidth, levels: seen.size};
  }));
  const table = document.getElementById('per-utt');
  const column = [...table.tHead.rows[0].cells].findIndex(th => th.textContent.startsWith('pesq_wb'));
  const values = () => [...table.tBodies[0].rows].map(r => parseFloat(r.cells[column].dataset.v));
  const before = values();
  table.tHead.rows[0].cells[column].click(); const asc = values();
  table.tHead.rows[0].cells[column].click(); const desc = values();
  document.body.setAttribute('data-probe', JSON.stringify(
    {durations, expected: audios.map(a => +a.dataset.duration), images, before, asc, desc}));
});
</script>"""
#: the page's own requests are those with an initiator (Chromium's own background fetches have none)
BROWSER_OWN = "not an origin"


def page_requests(net_log: Path) -> list[str]:
    """http(s)/ws URLs the page asked for, from Chromium's --log-net-log."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    starts = [e.get("params", {}) for e in log["events"] if e["type"] == start]  # the job's end has no params
    return [
        p["url"]
        for p in starts
        if p.get("initiator") != BROWSER_OWN and p.get("url", "").startswith(("http:", "https:", "ws:", "wss:"))
    ]


def probe_page(page: Path, tmp: Path) -> dict:
    probe = page.with_name("probe.html")  # beside the report, so listen/ resolves
    probe.write_text(page.read_text().replace("</body>", LISTEN_PROBE + "</body>"))
    dom = chromium(
        tmp,
        "--allow-file-access-from-files",  # lets the probe read the pixels of listen/*.png
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={tmp / 'net.json'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        probe.as_uri(),
    )
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the page did not finish loading"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def embedded(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run, rebuilt with --self-contained --pick worst --listen 1 (audio embedded, no listen/)."""
    copy = tmp_path_factory.mktemp("embedded") / "out"
    shutil.copytree(report.parent, copy)
    args = ["report", str(copy), "--self-contained", "--pick", "worst", "--listen", "1"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    return copy / "report.html"


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR (Le Roux et al., ICASSP 2019), zero-mean, written out here as an independent check."""
    reference, estimate = reference - reference.mean(), estimate - estimate.mean()
    target = (estimate @ reference) / (reference @ reference) * reference
    return float(10 * np.log10((target @ target) / ((estimate - target) @ (estimate - target))))


def test_listening_section_plays_each_system_aligned_as_scored(report: Path) -> None:
    """Every selected utterance has clean, noisy and one player per system; the FLAC of a system is its output
    aligned as scored: SI-SDR of the decoded file against the clean file is the run's value for that row."""
    text = report.read_text()
    rows = pd.read_csv(report.parent / "per_utterance.csv")
    folders = sorted((report.parent / "listen").iterdir())
    assert len(folders) == 2  # the fixture's two utterances (default count 12, capped by the run)
    for folder in folders:
        assert {f.stem for f in folder.glob("*.flac")} == {"clean", "noisy", "gtcrn-offline", "rnnoise"}
        assert f'id="u-{folder.name}.wav"' in text
        clean, rate = sf.read(folder / "clean.flac")
        for runner in ("gtcrn-offline", "rnnoise"):
            audio, _ = sf.read(folder / f"{runner}.flac")
            assert rate == 16000 and audio.size <= clean.size
            scored = rows[(rows.runner == runner) & (rows.utterance == f"{folder.name}.wav")]["si_sdr"].item()
            # 16-bit FLAC moves SI-SDR by ~1e-4 dB here; a clip with RNNoise's 20 ms delay left in scores
            # below -10 dB (seen: 20-40 dB lower), so 0.01 dB tells an aligned clip from a shifted one
            assert si_sdr(clean[: audio.size], audio) == pytest.approx(scored, abs=0.01)
    assert "This report: report.html" in text and "budget 20 MB" in text


def test_self_contained_report_embeds_audio_and_spectrograms(embedded: Path) -> None:
    text = embedded.read_text()
    assert not (embedded.parent / "listen").exists()
    assert not re.search(r'src="(?!data:)', text)  # nothing outside the file
    assert text.count('src="data:audio/flac;base64,') == 4  # one utterance: clean, noisy, two systems
    assert "picked by &#x27;worst&#x27;" in text


def test_listen_zero_leaves_the_section_out(report: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(report.parent, copy)
    result = cli.invoke(app, ["report", str(copy), "--listen", "0"])
    assert result.exit_code == 0, result.output
    assert 'id="listen"' not in (copy / "report.html").read_text() and not (copy / "listen").exists()


def test_compare_shows_both_runs_and_both_runs_audio(report: Path, tmp_path: Path) -> None:
    """A run compared with a copy of itself: every difference is zero, none is flagged, and each utterance
    also plays the other run's outputs."""
    this, other = tmp_path / "this", tmp_path / "other"
    shutil.copytree(report.parent, this)
    shutil.copytree(report.parent, other)
    result = cli.invoke(app, ["report", str(this), "--compare", str(other)])
    assert result.exit_code == 0, result.output
    text = (this / "report.html").read_text()
    assert 'id="compare-table"' in text and "<td>yes</td>" not in text
    assert 'data-v="0">+0</td>' in text
    assert {f.stem for f in next((this / "listen").iterdir()).glob("*.flac")} >= {
        "other-gtcrn-offline",
        "other-rnnoise",
    }
    bad = cli.invoke(app, ["report", str(this), "--compare", str(tmp_path)])
    assert bad.exit_code != 0 and "no metadata.json" in bad.output


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
@pytest.mark.parametrize("which", ["listen-folder", "self-contained"])
def test_listening_section_in_headless_chromium(report: Path, embedded: Path, tmp_path: Path, which: str) -> None:
    page = report if which == "listen-folder" else embedded
    seen = probe_page(page, tmp_path)
    assert seen["durations"] and len(seen["durations"]) == len(seen["expected"])
    # the decoder's duration is the file's sample count / 16 kHz; data-duration is rounded to 0.1 ms
    assert seen["durations"] == pytest.approx(seen["expected"], abs=2e-4)
    assert seen["images"] and all(i["w"] > 50 and i["levels"] > 16 for i in seen["images"]), seen["images"]
    before, asc, desc = seen["before"], seen["asc"], seen["desc"]
    assert asc == sorted(before) and desc == sorted(before, reverse=True) and asc != before
    assert page_requests(tmp_path / "net.json") == []


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
def test_the_request_log_sees_a_page_that_does_fetch(tmp_path: Path) -> None:
    """The control for the check above: a page that loads from the network shows up in the log."""
    page = tmp_path / "control.html"
    page.write_text('<img src="http://example.com/a.png"><script>fetch("https://example.org/x")</script>')
    chromium(
        tmp_path,
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={tmp_path / 'net.json'}",
        "--virtual-time-budget=3000",
        "--dump-dom",
        page.as_uri(),
    )
    assert set(page_requests(tmp_path / "net.json")) == {"http://example.com/a.png", "https://example.org/x"}
