"""Model cards: any frame-wise spectral ONNX model runs from a YAML description, checked against its graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper
from typer.testing import CliRunner

from conftest import GTCRN_REPO, ROOT, UL_UNAS_REPO, read
from gtcrn_bench import store
from gtcrn_bench.cli import app
from gtcrn_bench.complexity import runner_figures
from gtcrn_bench.errors import CheckpointError, ConfigError, OutputError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.cards import PACKAGED_CARDS, load_card

EXAMPLE = ROOT / "docs" / "examples" / "my_card.yaml"


def test_the_card_runner_on_the_published_graph_equals_gtcrn_onnx(mini_pairs: list) -> None:
    """Same graph, same STFT: the same samples, bit for bit, on real pairs."""
    card = registry.build("streaming-onnx", {"card": "gtcrn-published"})
    onnx_runner = registry.build("gtcrn-onnx", {})
    for _, _, noisy in mini_pairs[:2]:
        assert np.array_equal(card.enhance(noisy), onnx_runner.enhance(noisy))


def test_ul_unas_enhances_real_pairs(mini_pairs: list) -> None:
    """UL-UNAS (DNS3 weights) raises SI-SDR on the mini pairs (VoiceBank+DEMAND is not its training set)."""
    from gtcrn_bench.metrics import compute

    runner = registry.build("streaming-onnx", {"card": "ul-unas"})
    gains = []
    for _, clean, noisy in mini_pairs:
        out = runner.enhance(noisy)
        assert out.shape == noisy.shape and np.all(np.isfinite(out))
        gains.append(
            compute(["si_sdr"], out, clean).values["si_sdr"] - compute(["si_sdr"], noisy, clean).values["si_sdr"]
        )
    assert np.mean(gains) > 1.0, gains


def test_ul_unas_is_counted_beside_its_published_figures() -> None:
    figures = runner_figures(registry.build("streaming-onnx", {"card": "ul-unas"}))
    assert figures is not None and figures["kind"] == "measured"
    assert figures["params_total"] == 170751  # the paper: about 171 k
    assert 30e6 < figures["macs_per_second"] < 36e6  # the paper: about 35 M MACs/s
    assert figures["published"]["params"] == 171000 and "2503.00340" in figures["published"]["source"]


def test_the_identity_holds_the_card_and_graph_hashes() -> None:
    artefacts = registry.build("streaming-onnx", {"card": "ul-unas"}).output_identity()["artefacts"]
    assert artefacts["onnx"] == store.ARTEFACTS["ul-unas-onnx"].sha256 and len(artefacts["card"]) == 64


def test_the_docs_example_card_loads_and_runs(mini_pairs: list) -> None:
    runner = registry.build("streaming-onnx", {"card": str(EXAMPLE)})
    shipped = registry.build("streaming-onnx", {"card": "ul-unas"})
    noisy = mini_pairs[0][2]
    assert np.allclose(runner.enhance(noisy), shipped.enhance(noisy), atol=1e-5)  # raw and simplified graphs


def test_fetch_from_a_ul_unas_clone_copies_its_pinned_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["fetch", "models", "--from", str(UL_UNAS_REPO)])
    assert result.exit_code == 0, result.output
    for alias in ("ul-unas-onnx", "ul-unas-onnx-raw", "ul-unas-dns3"):
        assert store.store_path(alias).is_file() and str(tmp_path) in str(store.store_path(alias))
    assert not store.store_path("vctk").exists()  # a UL-UNAS clone gives UL-UNAS's files only
    with pytest.raises(CheckpointError, match="not a clone of a pinned repository"):
        store.fetch(source=tmp_path / "nothing")


def bad_card(tmp_path: Path, change: dict, base: str = "ul-unas") -> Path:
    data = yaml.safe_load((PACKAGED_CARDS / f"{base}.yaml").read_text())
    for key, value in change.items():
        where, _, last = key.rpartition(".")
        target = data
        for part in where.split(".") if where else []:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is None:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"caches.1.shape": [1, 400]}, "caches[1].shape: the card says [1, 400], the graph has tfa_cache [1, 402]"),
        ({"caches.0.name": "conv_state"}, "caches[0].name: the card says 'conv_state', the graph has inputs mix"),
        ({"caches.2.output": "inter_out"}, "caches[2].output: the card says 'inter_out', the graph has outputs enh"),
        ({"input.name": "spec"}, "input.name: the card says 'spec', the graph has inputs mix [1, 257, 1, 2]"),
        ({"stft": None}, "stft: Field required"),
        ({"stft.hop": 128}, "stft: hop must be n_fft / 2"),
    ],
)
def test_a_card_that_does_not_match_its_graph_is_one_line(tmp_path: Path, change: dict, message: str) -> None:
    path = bad_card(tmp_path, change)
    with pytest.raises((CheckpointError, ConfigError)) as caught:
        registry.build("streaming-onnx", {"card": str(path)})
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


def tiny_graph(path: Path, frames: int | str = 1) -> Path:
    """A two-input graph: enh = mix * sqrt(5 - c_out), c_out = c + 1, so frame 5 is the first with NaN."""
    mix = helper.make_tensor_value_info("mix", TensorProto.FLOAT, [1, 257, frames, 2])
    cache = helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 1])
    enh = helper.make_tensor_value_info("enh", TensorProto.FLOAT, [1, 257, frames, 2])
    cache_out = helper.make_tensor_value_info("c_out", TensorProto.FLOAT, [1, 1])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    five = helper.make_tensor("five", TensorProto.FLOAT, [1], [5.0])
    nodes = [
        helper.make_node("Add", ["c", "one"], ["c_out"]),
        helper.make_node("Sub", ["five", "c_out"], ["room"]),
        helper.make_node("Sqrt", ["room"], ["gain"]),
        helper.make_node("Mul", ["mix", "gain"], ["enh"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [mix, cache], [enh, cache_out], initializer=[one, five])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def tiny_card(tmp_path: Path, frames: int | str = 1) -> Path:
    tiny_graph(tmp_path / "tiny.onnx", frames)
    card = {
        "name": "tiny",
        "graph": {"path": "tiny.onnx"},
        "stft": {"n_fft": 512, "hop": 256, "window": "hann"},
        "input": {"name": "mix", "shape": [1, 257, 1, 2]},
        "output": {"name": "enh", "shape": [1, 257, 1, 2]},
        "caches": [{"name": "c", "shape": [1, 1], "output": "c_out"}],
    }
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(card))
    return tmp_path / "tiny.yaml"


def test_a_graph_that_is_not_frame_wise_is_refused(tmp_path: Path) -> None:
    path = tiny_card(tmp_path, frames="T")
    with pytest.raises(CheckpointError, match=r"input\.shape: .* mix \[1, 257, 'T', 2\]: not frame-wise"):
        registry.build("streaming-onnx", {"card": str(path)})


def test_nan_output_is_reported_by_frame(tmp_path: Path) -> None:
    runner = registry.build("streaming-onnx", {"card": str(tiny_card(tmp_path))})
    with pytest.raises(OutputError, match=r"NaN or Inf first appeared in frame 5 \(t = 0\.080 s\) in enh"):
        runner.enhance(read(GTCRN_REPO / "test_wavs" / "mix.wav")[:4000])


def test_an_unknown_card_suggests_the_nearest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'ul-unas'"):
        load_card("ul-unaz")


def test_ul_unas_matches_its_repository_recipe_offline(mini_pairs: list) -> None:
    """An independent reference: UL-UNAS's own way (torch.stft with a periodic Hann window, the graph frame by frame
    with session.run, torch.istft). The frame-wise STFT reproduces it to float32 rounding (1e-5)."""
    import onnxruntime as ort
    import torch

    noisy = torch.from_numpy(mini_pairs[0][2])
    window = torch.hann_window(512, periodic=True)
    spec = torch.view_as_real(torch.stft(noisy, 512, 256, 512, window=window, center=True, return_complex=True))
    session = ort.InferenceSession(str(store.resolve("ul-unas-onnx")), providers=["CPUExecutionProvider"])
    caches = {"conv_cache": (1, 5358), "tfa_cache": (1, 402), "inter_cache": (1, 1056)}
    feeds = {name: np.zeros(shape, np.float32) for name, shape in caches.items()}
    frames = []
    for t in range(spec.shape[1]):
        feeds["mix"] = spec[None, :, t : t + 1].numpy()
        enh, *outs = session.run(["enh", *(f"{n}_out" for n in caches)], feeds)
        feeds.update(zip(caches, outs, strict=True))
        frames.append(enh)
    enhanced = torch.view_as_complex(torch.from_numpy(np.concatenate(frames, axis=2))[0].contiguous())
    reference = torch.istft(enhanced, 512, 256, 512, window=window, center=True, length=noisy.numel()).numpy()
    out = registry.build("streaming-onnx", {"card": "ul-unas"}).enhance(mini_pairs[0][2])
    assert np.max(np.abs(out - reference)) < 1e-5
