"""The metrics beyond the standard set (distill_mos, personalised DNSMOS, spk_sim, wer/cer, lsd).

Each equals its package called directly on real VoiceBank+DEMAND pairs, clean beats noisy on the
three lowest-SNR pairs of the mini set, bad input gives reasons, and nothing touches the network.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import MINI, ROOT, read
from gtcrn_bench import metrics
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.metrics import asr, distill_mos, lsd

NON_INTRUSIVE = ["distill_mos", "dnsmos_p_sig", "dnsmos_p_bak", "dnsmos_p_ovrl"]
INTRUSIVE = ["spk_sim", "wer", "cer", "lsd"]
NEW = NON_INTRUSIVE + INTRUSIVE
Scores = dict[str, dict[str, list[float]]]


def lowest_snr(count: int) -> list[str]:
    """The mini set's ``count`` noisiest pairs (where clean and noisy differ most), from its manifest."""
    manifest = pd.read_csv(MINI / "manifest.csv")
    return list(manifest.sort_values("snr_db")["name"][:count])


@pytest.fixture(scope="module")
def low_snr_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """p257_199 (-3.1 dB), p257_094 (-0.6 dB), p232_234 (0.0 dB): 8.1 s of speech in all."""
    return [(n, read(MINI / "clean" / n), read(MINI / "noisy" / n)) for n in lowest_snr(3)]


@pytest.fixture(scope="module")
def scores(low_snr_pairs: list[tuple[str, np.ndarray, np.ndarray]]) -> Scores:
    """Every new metric of the clean and of the noisy file, each against the clean reference, per pair."""
    out: Scores = {"clean": {m: [] for m in NEW}, "noisy": {m: [] for m in NEW}}
    for name, clean, noisy in low_snr_pairs:
        for side, estimate in (("clean", clean), ("noisy", noisy)):
            result = metrics.compute(NEW, estimate, clean)
            assert result.errors == {}, (name, side)
            for m in NEW:
                out[side][m].append(result.values[m])
    return out


def test_registry_declares_the_new_metrics_with_direction_extra_and_versions() -> None:
    assert metrics.names()[-len(NEW) :] == NEW and metrics.unavailable() == {}
    for name in NEW:
        metric = metrics.get(name)
        assert metric.needs_reference == (name in INTRUSIVE), name
        assert metric.higher_is_better == (name not in ("wer", "cer", "lsd")), name
        assert metric.cost_ms_per_s is not None and metric.cost_ms_per_s > 0, name
    prov = metrics.provenance(NEW)
    assert prov["distill_mos"].startswith("distillmos==0.9.1 (") and "xls-r-sqa==0.1.0" in prov["distill_mos"]
    assert prov["dnsmos_p_ovrl"].startswith("speechmos==0.0.1.1 (personalised")
    assert prov["spk_sim"].startswith("resemblyzer==0.1.4 (") and "webrtcvad==" in prov["spk_sim"]
    assert prov["wer"].startswith("pocketsphinx==") and "jiwer==" in prov["wer"]
    assert prov["lsd"].startswith("gtcrn-bench==") and "scipy==" in prov["lsd"]


def test_distill_mos_and_personalised_dnsmos_equal_their_packages(low_snr_pairs: list) -> None:
    """Distill-MOS: a fresh instance of the package's network (tolerance 1e-6 MOS: float32 model, same input).
    pDNSMOS: speechmos.dnsmos.run with the personalised model (1e-5 MOS: thread count may reorder float sums)."""
    import torch
    from speechmos import dnsmos

    network = distill_mos.model_class()().eval()
    for _, _, noisy in low_snr_pairs[1:]:
        ours = metrics.compute(NON_INTRUSIVE, noisy).values
        with torch.inference_mode():
            assert ours["distill_mos"] == pytest.approx(network(torch.from_numpy(noisy)[None, :]).item(), abs=1e-6)
        theirs = dnsmos.run(noisy, sr=16000, model_type="dnsmos_personalized")
        for name, key in (("dnsmos_p_sig", "sig_mos"), ("dnsmos_p_bak", "bak_mos"), ("dnsmos_p_ovrl", "ovrl_mos")):
            assert ours[name] == pytest.approx(theirs[key], abs=1e-5)
        plain = metrics.compute(["dnsmos_ovrl"], noisy).values["dnsmos_ovrl"]
        assert ours["dnsmos_p_ovrl"] != pytest.approx(plain, abs=1e-3)  # really the other model


def test_speaker_similarity_equals_resemblyzer_called_directly(low_snr_pairs: list) -> None:
    """A fresh VoiceEncoder on the package's own preprocessing; tolerance 1e-6 (float32 LSTM)."""
    from gtcrn_bench.metrics.spk_sim import _resemblyzer

    resemblyzer = _resemblyzer()
    encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)
    _, clean, noisy = low_snr_pairs[2]
    a, b = (encoder.embed_utterance(resemblyzer.preprocess_wav(w, 16000)) for w in (noisy, clean))
    expected = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert metrics.compute(["spk_sim"], noisy, clean).values["spk_sim"] == pytest.approx(expected, abs=1e-6)


def _normalised(text: str) -> str:
    """Lower case, Unicode punctuation removed, single spaces: written independently of jiwer's transforms."""
    kept = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    return " ".join(kept.split())


def _decode_fresh(wave: np.ndarray) -> str:
    """PocketSphinx as its documentation shows, with a decoder created for this one utterance."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, logfn="/dev/null")
    decoder.start_utt()
    decoder.process_raw(np.round(wave * 32767).astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    return decoder.hyp().hypstr if decoder.hyp() is not None else ""


def test_wer_and_cer_equal_pocketsphinx_and_jiwer_called_directly(low_snr_pairs: list) -> None:
    """Fresh decoders for the clean reference and the noisy estimate: equal texts show that the metric's
    reused decoder starts every utterance from the loaded state. Error rates exact (jiwer counts edits)."""
    import jiwer

    _, clean, noisy = low_snr_pairs[2]
    reference, hypothesis = _normalised(_decode_fresh(clean)), _normalised(_decode_fresh(noisy))
    assert asr.recognise(clean) == _decode_fresh(clean)
    result = metrics.compute(["wer", "cer"], noisy, clean).values
    assert result["wer"] == jiwer.wer(reference, hypothesis)
    assert result["cer"] == jiwer.cer(reference, hypothesis)


def test_a_worker_transcribes_each_clean_reference_once(low_snr_pairs: list) -> None:
    """Two runners' estimates of one utterance: the second reuses the reference's transcription, and its
    values equal those computed with an empty cache (a decode depends on the audio alone)."""
    _, clean, noisy = low_snr_pairs[1]
    asr.decode_reference.cache_clear()
    metrics.compute(["wer"], noisy, clean)
    second = metrics.compute(["wer", "cer"], 0.5 * noisy, clean).values
    info = asr.decode_reference.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    asr.decode_reference.cache_clear()
    assert metrics.compute(["wer", "cer"], 0.5 * noisy, clean).values == second


def _lsd_numpy(estimate: np.ndarray, reference: np.ndarray) -> float:
    """LSD with numpy only: periodic Hann 512, hop 256, spectrum scaling (divide by the window's sum)."""
    width, hop = 512, 256
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(width) / width)
    count = 1 + (reference.size - width) // hop

    def log_power(x: np.ndarray) -> np.ndarray:
        frames = np.stack([x[i * hop : i * hop + width] for i in range(count)]).astype(np.float64)
        spectrum = np.fft.rfft(frames * window, axis=1) / window.sum()
        return 10 * np.log10(np.abs(spectrum) ** 2 + 1e-8)

    return float(np.mean(np.sqrt(np.mean((log_power(reference) - log_power(estimate)) ** 2, axis=1))))


def test_lsd_matches_an_independent_implementation_and_a_known_gain(low_snr_pairs: list) -> None:
    """Tolerance 1e-9 dB (float64 both ways). A gain of 1/2 on loud noise shifts every bin by 20 log10 2 dB;
    tolerance 0.01 dB there: the few bins of white noise whose power falls near the -80 dB floor shift less."""
    _, clean, noisy = low_snr_pairs[0]
    assert metrics.compute(["lsd"], noisy, clean).values["lsd"] == pytest.approx(_lsd_numpy(noisy, clean), abs=1e-9)
    loud = np.random.default_rng(5).normal(0, 0.3, 16000)
    assert lsd.lsd(0.5 * loud, loud, 16000) == pytest.approx(20 * np.log10(2), abs=0.01)


def test_clean_beats_noisy_on_every_new_metric(scores: Scores) -> None:
    """Means over the three noisiest pairs. Per pair, personalised SIG rates two noisy files a little above
    their clean ones (it judges speech distortion, and the noise barely distorts the speech); the mean holds."""
    for name in NEW:
        clean, noisy = np.mean(scores["clean"][name]), np.mean(scores["noisy"][name])
        better = clean > noisy if metrics.get(name).higher_is_better else clean < noisy
        assert better, (name, clean, noisy)
    assert scores["clean"]["spk_sim"] == pytest.approx([1.0] * 3, abs=1e-6)
    assert scores["clean"]["lsd"] == [0.0] * 3


def test_wer_of_clean_against_its_own_transcription_is_zero(scores: Scores) -> None:
    assert scores["clean"]["wer"] == [0.0] * 3 and scores["clean"]["cer"] == [0.0] * 3
    assert max(scores["noisy"]["wer"]) > 0


def test_a_transcript_replaces_the_recognised_reference() -> None:
    """p232_001 is the corpus prompt "Please call Stella."; PocketSphinx hears it right on the clean file."""
    clean = read(MINI / "clean" / "p232_001.wav")
    assert metrics.compute(["wer", "cer"], clean, clean, transcript="Please call Stella.").values["wer"] == 0.0
    wrong = metrics.compute(["wer"], clean, clean, transcript="Please call Bella!").values["wer"]
    assert wrong == pytest.approx(1 / 3)
    empty = metrics.compute(["wer", "cer"], clean, clean, transcript=" ... ")
    assert "no words" in empty.errors["wer"] and "no words" in empty.errors["cer"]


def test_bad_input_gives_reasons_and_reference_free_metrics_still_run(low_snr_pairs: list) -> None:
    _, clean, noisy = low_snr_pairs[2]
    no_reference = metrics.compute(NEW, noisy, None)
    assert set(no_reference.errors) == set(INTRUSIVE)
    assert all("needs the clean reference" in r for r in no_reference.errors.values())
    assert all(no_reference.values[m] is not None for m in NON_INTRUSIVE)
    silent_reference = metrics.compute(NEW, noisy, np.zeros_like(clean))
    assert all("reference is silent" in silent_reference.errors[m] for m in INTRUSIVE)
    clipped = metrics.compute(NEW, noisy * (1.5 / np.abs(noisy).max()), clean)
    assert set(clipped.errors) == set(NEW) and all("clips" in r for r in clipped.errors.values())
    short = metrics.compute(["distill_mos", "lsd"], noisy[:3200], clean[:3200])  # 0.2 s
    assert "shorter than the 0.25 s" in short.errors["distill_mos"] and short.values["lsd"] is not None
    assert "shorter than one 32 ms" in metrics.compute(["lsd"], noisy[:400], clean[:400]).errors["lsd"]
    silent = metrics.compute(["spk_sim"], np.zeros_like(noisy), clean)
    assert "the estimate is silent" in silent.errors["spk_sim"]
    assert "pip install --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0" in metrics.get("distill_mos").install


def test_metric_sets_resolve_by_name() -> None:
    assert metrics.resolve_set("quick") == ["pesq_wb", "stoi", "si_sdr"]
    assert len(metrics.resolve_set("standard")) == 13 and metrics.resolve_set(None) == metrics.resolve_set("standard")
    assert metrics.resolve_set("full") == metrics.names() and set(NEW) <= set(metrics.resolve_set("full"))
    assert metrics.resolve_set(["lsd", "wer"]) == ["lsd", "wer"]
    with pytest.raises(ConfigError, match=r"unknown set 'fast'.*quick, standard, full"):
        metrics.resolve_set("fast")
    asr_cost = metrics.get("wer").cost_ms_per_s
    assert metrics.cost_ms_per_s(["wer", "cer"]) == asr_cost  # one group, counted once


def test_list_metrics_shows_costs_without_importing_torch() -> None:
    code = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from gtcrn_bench.cli import app
        result = CliRunner().invoke(app, ["list", "--metrics"], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        print(result.output)
        print("torch imported:", "torch" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "torch imported: False" in out
    wer = metrics.get("wer").cost_ms_per_s
    assert any(line.startswith("│ wer ") and f"{wer:.1f}" in line for line in out.splitlines()), out
    assert "set quick: 3 metrics, at most" in out and "set full:" in out


def test_the_new_metrics_run_with_the_network_blocked(tmp_path: Path) -> None:
    """Weights come from the wheels: a fresh process whose sockets refuse to connect computes them all."""
    name = "p232_234.wav"  # 1.6 s
    code = textwrap.dedent(
        f"""
        import socket, soundfile as sf
        def refuse(*args, **kwargs):
            raise OSError("network blocked by the test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from gtcrn_bench import metrics
        clean, _ = sf.read("{MINI / "clean" / name}", dtype="float32")
        noisy, _ = sf.read("{MINI / "noisy" / name}", dtype="float32")
        result = metrics.compute({NEW!r}, noisy, clean)
        assert result.errors == {{}}, result.errors
        print("ok", result.values)
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stderr[-2000:]
