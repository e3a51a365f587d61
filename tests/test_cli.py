"""`gtcrn-bench enhance` and `list` on real audio, including the bad inputs the issue names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from conftest import DATA_48K, GTCRN_REPO, MINI, read
from gtcrn_bench import store
from gtcrn_bench.cli import app
from gtcrn_bench.runners import registry

cli = CliRunner()
MIX = GTCRN_REPO / "test_wavs" / "mix.wav"


def test_list_shows_runners_and_parameters() -> None:
    result = cli.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "gtcrn-offline" in result.output and "gtcrn-stream" in result.output
    assert "checkpoint" in result.output


def test_enhance_writes_pcm16_by_default_and_float_on_request(tmp_path: Path) -> None:
    result = cli.invoke(app, ["enhance", str(MIX), "--out-dir", str(tmp_path / "a"), "--checkpoint", "dns3-stream"])
    assert result.exit_code == 0, result.output
    info = sf.info(str(tmp_path / "a" / "mix.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    reference = read(GTCRN_REPO / "test_wavs" / "enh.wav")
    out = read(tmp_path / "a" / "mix.wav")
    assert np.abs(out[: reference.size] - reference).max() <= 2 / 32768 + 1e-7
    args = ["enhance", str(MIX), "-o", str(tmp_path / "b"), "--subtype", "FLOAT", "-r", "gtcrn-stream"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "b" / "mix.wav")).subtype == "FLOAT"


def test_other_rates_are_resampled_and_reported(tmp_path: Path) -> None:
    noisy_48k = DATA_48K / "noisy" / "p232_050.wav"
    result = cli.invoke(app, ["enhance", str(noisy_48k), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "48000 Hz -> 16000 Hz" in result.stderr and "48000 Hz" not in result.stdout
    info = sf.info(str(tmp_path / "p232_050.wav"))
    assert info.samplerate == 16000
    assert abs(info.frames - sf.info(str(noisy_48k)).frames / 3) <= 1


def test_stereo_is_refused_unless_downmixed(tmp_path: Path) -> None:
    mono = read(MINI / "noisy" / "p232_001.wav")
    stereo = tmp_path / "stereo.wav"
    sf.write(str(stereo), np.stack([mono, mono], axis=1), 16000)
    result = cli.invoke(app, ["enhance", str(stereo), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "2 channels" in result.output and "--downmix" in result.output
    result = cli.invoke(app, ["enhance", str(stereo), "-o", str(tmp_path / "out"), "--downmix"])
    assert result.exit_code == 0, result.output


def test_unreadable_and_empty_files_are_skipped_by_name(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"not audio at all")
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, np.float32), 16000)
    short = tmp_path / "short.wav"
    sf.write(str(short), np.zeros(100, np.float32), 16000)
    good = MINI / "noisy" / "p232_001.wav"
    files = [str(garbage), str(good), str(empty), str(short)]
    result = cli.invoke(app, ["enhance", *files, "-o", str(tmp_path / "out"), "-r", "gtcrn-stream"])
    assert result.exit_code == 1
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 3
    for name, reason in (("garbage.wav", "cannot read"), ("empty.wav", "no samples"), ("short.wav", "shorter")):
        assert any(name in line and reason in line for line in skipped), (name, skipped)
    assert "1 of 4 files enhanced" in result.output
    assert (tmp_path / "out" / "p232_001.wav").exists()


def test_unwritable_outputs_are_skipped_by_name(tmp_path: Path) -> None:
    flac = tmp_path / "noisy.flac"
    sf.write(str(flac), read(MINI / "noisy" / "p232_001.wav"), 16000)
    result = cli.invoke(app, ["enhance", str(flac), "-o", str(tmp_path / "out"), "--subtype", "FLOAT"])
    assert result.exit_code == 1
    assert "noisy.flac: cannot write FLOAT audio" in result.stderr and "Traceback" not in result.output
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cli.invoke(app, ["enhance", str(flac), "-o", str(blocker / "out")])
    assert result.exit_code == 1 and "cannot write PCM_16 audio" in result.stderr


def test_bad_checkpoints_give_one_line_errors(tmp_path: Path, model_home: Path) -> None:
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"\x00" * 100)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes((GTCRN_REPO / "checkpoints" / "model_trained_on_vctk.tar").read_bytes()[:50_000])
    wrong = tmp_path / "wrong.tar"
    torch.save({"model": {"layer.weight": torch.zeros(3, 3)}}, wrong)
    onnx_file = GTCRN_REPO / "stream" / "onnx_models" / "gtcrn_simple.onnx"
    cases = {
        str(tmp_path / "missing.tar"): "neither a file nor a known alias",
        str(corrupt): "expected a torch.save'd GTCRN checkpoint",
        str(truncated): "expected a torch.save'd GTCRN checkpoint",
        str(onnx_file): "expected a torch.save'd GTCRN checkpoint",
        str(wrong): "not a GTCRN checkpoint",
    }
    for checkpoint, message in cases.items():
        result = cli.invoke(app, ["enhance", str(MIX), "-o", str(tmp_path), "--checkpoint", checkpoint])
        assert result.exit_code == 2
        assert message in result.output and checkpoint in result.output
        assert "Traceback" not in result.output and "weights_only" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_corrupted_store_file_names_the_file_and_its_pinned_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(home))
    store.fetch(["vctk"], source=GTCRN_REPO)
    stored = store.store_path("vctk")
    stored.write_bytes(stored.read_bytes()[:-1] + b"!")
    result = cli.invoke(app, ["enhance", str(MIX), "-o", str(tmp_path / "out"), "--checkpoint", "vctk"])
    assert result.exit_code == 2
    assert str(stored) in result.stderr and store.ARTEFACTS["vctk"].sha256 in result.stderr


def test_runner_parameters_from_strings_are_typed_and_checked() -> None:
    runner = registry.create("gtcrn-offline", checkpoint="vctk", threads="1")
    assert runner.params() == {"checkpoint": "vctk", "threads": 1}
    result = cli.invoke(app, ["enhance", str(MIX), "-o", "/tmp", "-p", "bogus=1"])
    assert result.exit_code == 2 and "no parameter bogus" in result.output
    result = cli.invoke(app, ["enhance", str(MIX), "-o", "/tmp", "-r", "nope"])
    assert result.exit_code == 2 and "unknown runner 'nope'" in result.output


def test_enhance_removes_a_runners_declared_delay(tmp_path: Path) -> None:
    """speex lags its input by 160 samples; the written file must line up with the input again."""
    noisy_path = MINI / "noisy" / "p232_001.wav"
    result = cli.invoke(app, ["enhance", str(noisy_path), "-o", str(tmp_path), "-r", "speex", "--subtype", "FLOAT"])
    assert result.exit_code == 0, result.output
    noisy, out = read(noisy_path), read(tmp_path / "p232_001.wav")
    assert out.size == noisy.size
    lags = np.arange(-400, 401)
    corr = [np.dot(out[400:-400], noisy[400 - lag : noisy.size - 400 - lag]) for lag in lags]
    assert abs(int(lags[int(np.argmax(corr))])) <= 1  # ±1: integer peak of a resampled/filtered signal


def test_cli_start_up_does_not_import_the_heavy_libraries() -> None:
    """`gtcrn-bench --help` (and tab completion) stays fast: torch, pandas, onnxruntime load when a command runs."""
    code = (
        "import sys, gtcrn_bench.cli; "
        "print(','.join(m for m in ('torch', 'pandas', 'onnxruntime', 'matplotlib') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
