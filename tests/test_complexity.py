"""MAC and parameter counting: the published 33.0 M, hand-computed layers, and ONNX graphs against modules.

References: the published figure and parameter counts (GTCRN paper / README,
docs/measured-anchors.md), single layers counted by hand in the tests, a
brute-force count of convolution products, the installed ptflops 0.7 and
fvcore, and the published ONNX graphs. Counts are integers: every comparison
is exact.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from gtcrn_bench.cli import app
from gtcrn_bench.complexity import (
    EXACT,
    PTFLOPS_07,
    count_module,
    count_onnx,
    measure,
    runner_complexity,
)
from gtcrn_bench.models.checkpoint import load_gtcrn
from gtcrn_bench.models.export_stream import to_export_stream
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.models.stream import to_stream, zero_caches
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Countable
from gtcrn_bench.runners.gtcrn import gtcrn_countable
from gtcrn_bench.store import resolve

PUBLISHED_MACS = 32_998_378  # ptflops 0.7 on a (257, 63, 2) input: the paper's "33.0 MMACs/s"
FVCORE_MACS = 22_596_012  # fvcore on the same input (docs/measured-anchors.md): no GRU counted
PARAMS_TOTAL, PARAMS_TRAINABLE = 48_245, 23_669  # the paper's 48.2 K and 23.7 K
ERB_PARAMS = 2 * 64 * 192  # the two fixed ERB matrices, (64, 192) and its transpose
FRAMES_PER_SECOND = 16000 / 256

cli = CliRunner()


def _ptflops_07() -> bool:
    try:
        return version("ptflops") == "0.7"
    except PackageNotFoundError:
        return False


needs_ptflops_07 = pytest.mark.skipif(not _ptflops_07(), reason="needs ptflops==0.7 (the crosscheck extra)")


@pytest.fixture(scope="module")
def gtcrn() -> Countable:
    return gtcrn_countable(load_gtcrn("dns3-stream"), "gtcrn")


@pytest.fixture(scope="module")
def frame_count(gtcrn: Countable) -> int:
    """MACs of one streaming frame of the PyTorch module under ``exact``."""
    return measure(gtcrn, EXACT).macs


def test_ptflops_convention_reproduces_the_published_figure(gtcrn: Countable) -> None:
    result = measure(gtcrn, PTFLOPS_07, frames=63)
    assert result.macs == PUBLISHED_MACS
    assert result.macs_per_second == PUBLISHED_MACS  # 63 frames are the paper's second
    assert not result.count.uncounted


def test_parameters_total_trainable_frozen_buffers_per_module(gtcrn: Countable) -> None:
    params = measure(gtcrn, PTFLOPS_07).params
    assert (params.total, params.trainable) == (PARAMS_TOTAL, PARAMS_TRAINABLE)
    assert params.frozen == ERB_PARAMS
    assert params.frozen_tensors == ["erb.erb_fc.weight", "erb.ierb_fc.weight"]
    model = gtcrn.utterance[0]
    batch_norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert params.buffers == sum(2 * bn.num_features + 1 for bn in batch_norms)  # mean, var, step counter
    assert sum(m["total"] for m in params.by_module.values()) == PARAMS_TOTAL
    assert params.by_module["erb"] == {"total": ERB_PARAMS, "trainable": 0}
    stream_params = measure(gtcrn, EXACT).params  # the streaming form keeps every tensor
    assert (stream_params.total, stream_params.trainable) == (PARAMS_TOTAL, PARAMS_TRAINABLE)


def test_single_gru_by_hand() -> None:
    gru = nn.GRU(8, 4, batch_first=True, bidirectional=True)  # GTCRN's intra-frame GRU
    x = torch.zeros(3, 5, 8)  # 3 sequences of 5 steps
    # exact, per step and direction: W_ih (3*4 x 8) = 96, W_hh (3*4 x 4) = 48, gate products
    # r*(W_hn h + b_hn), z*h, (1 - z)*n = 3*4 = 12 -> 156; x 3 sequences x 5 steps x 2 directions
    assert count_module(gru, (x,), EXACT).macs == 156 * 3 * 5 * 2
    # ptflops 0.7, per step: 96 + 48, its 7 gate terms per unit 7*4 = 28, both biases 12 + 12 -> 196; x 15 x 2
    assert count_module(gru, (x,), PTFLOPS_07).macs == 196 * 15 * 2
    deep = nn.GRU(8, 4, num_layers=2)  # second layer reads the first layer's 4 outputs
    # per step: layer 1 = 156 as above; layer 2 = 3*4*4 + 3*4*4 + 12 = 108; 5 steps x 3 sequences (not batch-first)
    assert count_module(deep, (torch.zeros(5, 3, 8),), EXACT).macs == (156 + 108) * 15


def test_single_conv_transpose_by_hand() -> None:
    deconv = nn.ConvTranspose2d(16, 2, (1, 5), stride=(1, 2), padding=(0, 2))  # GTCRN's mask layer
    x = torch.zeros(1, 16, 1, 33)
    # exact: input bin i and tap k write output bin 2i + k - 2; of the 33 x 5 = 165 pairs, (i=0, k=0, 1) and
    # (i=32, k=3, 4) land outside the 65 output bins: 161 pairs x 16 inputs x 2 outputs
    assert count_module(deconv, (x,), EXACT).macs == 161 * 16 * 2
    # ptflops 0.7: 65 output bins x 5 taps x 16 x 2, plus a bias add per output element (2 x 65)
    assert count_module(deconv, (x,), PTFLOPS_07).macs == 65 * 5 * 16 * 2 + 2 * 65


CONVS = [
    (nn.Conv2d(9, 16, (1, 5), stride=(1, 2), padding=(0, 2)), (1, 9, 3, 129)),
    (nn.Conv2d(16, 16, 3, padding=(0, 1), dilation=(5, 1), groups=16), (1, 16, 11, 33)),
    (nn.Conv1d(4, 6, 4, padding="same", dilation=3, groups=2), (2, 4, 17)),
    (nn.ConvTranspose2d(16, 16, 3, padding=(10, 1), dilation=(5, 1), groups=16), (1, 16, 11, 33)),
    (nn.ConvTranspose1d(6, 4, 4, stride=3, padding=2, output_padding=1, groups=2), (1, 6, 9)),
    (nn.ConvTranspose2d(16, 2, (1, 5), stride=(1, 2), padding=(0, 2)), (1, 16, 2, 65)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch pads a copy: fine here
@pytest.mark.parametrize(("conv", "shape"), CONVS, ids=[f"{type(c).__name__}-{i}" for i, (c, _) in enumerate(CONVS)])
def test_exact_conv_rule_equals_brute_force(conv: nn.Module, shape: tuple[int, ...]) -> None:
    """With all-ones weights and input, each output is the number of products reaching it from real input."""
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias = None
        reference = int(conv(torch.ones(shape)).sum().round())
    assert count_module(conv, (torch.zeros(shape),), EXACT).macs == reference


@needs_ptflops_07
@pytest.mark.parametrize("frames", [1, 10, 100])
def test_ptflops_rules_agree_with_the_installed_ptflops(frames: int) -> None:
    from ptflops import get_model_complexity_info

    model = GTCRN().eval()
    ours = count_module(model, (torch.zeros(1, 257, frames, 2),), PTFLOPS_07).macs
    theirs, _ = get_model_complexity_info(model, (257, frames, 2), as_strings=False, print_per_layer_stat=False)
    assert ours == theirs


def test_onnx_frame_count_equals_module_frame_count(gtcrn: Countable, frame_count: int) -> None:
    """The published graphs express layers differently (folded BN, padded transposed convolutions,
    LayerNorm in pieces) and must still count what the streaming module counts, kind by kind."""
    module_rows = measure(gtcrn, EXACT).count.layers

    def total(rows: list, ops: tuple[str, ...]) -> int:
        return sum(row.macs for row in rows if row.op in ops)

    for alias in ("published-onnx", "published-onnx-raw"):
        graph = count_onnx(resolve(alias))
        assert graph.macs == frame_count, alias
        assert not graph.uncounted
        assert total(graph.layers, ("Conv", "ConvTranspose")) == total(module_rows, ("Conv2d", "ConvTranspose2d"))
        assert total(graph.layers, ("GRU",)) == total(module_rows, ("GRU",))
        assert total(graph.layers, ("MatMul",)) == total(module_rows, ("Linear",))
        assert total(graph.layers, ("PRelu",)) == total(module_rows, ("PReLU",))


def test_exact_rules_on_the_offline_model_are_frames_times_one_stream_frame(frame_count: int) -> None:
    """Offline, the decoder runs padded transposed convolutions over all frames; no padding product counts."""
    offline = count_module(GTCRN().eval(), (torch.zeros(1, 257, 63, 2),), EXACT)
    assert offline.macs == 63 * frame_count


class _Small(nn.Module):
    """Layers GTCRN does not have: 'same' padding, output padding, a 2-layer bidirectional LSTM, a plain LayerNorm,
    and a Linear on a 2-D input (exported as Gemm rather than MatMul)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding="same", dilation=2)
        self.up = nn.ConvTranspose1d(6, 4, 4, stride=2, padding=1, output_padding=1, groups=2)
        self.lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(10)
        self.fc = nn.Linear(10, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(self.up(torch.relu(self.conv(x))).transpose(1, 2))
        return self.head(self.fc(self.norm(y))[:, -1] * 0.5)


@pytest.mark.parametrize("which", ["stream", "export-stream", "small"])
def test_exported_graphs_count_like_their_modules(which: str, tmp_path: Path) -> None:
    model = GTCRN().eval()
    module, inputs = {
        "stream": (to_stream(model), (torch.zeros(1, 257, 1, 2), *zero_caches())),
        "export-stream": (to_export_stream(model), (torch.zeros(1, 257, 1, 2), *zero_caches())),
        "small": (_Small().eval(), (torch.zeros(1, 4, 12),)),
    }[which]
    path = tmp_path / f"{which}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer warnings
        torch.onnx.export(module, inputs, str(path), dynamo=False, opset_version=17)
    ours = count_module(module, inputs, EXACT)
    graph = count_onnx(path)
    assert not ours.uncounted and not graph.uncounted
    assert graph.macs == ours.macs
    if which == "small":
        assert "Gemm" in {node.op_type for node in onnx.load(str(path)).graph.node}


def test_uncounted_layers_are_reported_not_taken_as_zero() -> None:
    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.einsum("btc,bsc->bts", self.attn(x, x, x)[0], x)

    exact = count_module(Attention(), (torch.zeros(1, 5, 8),), EXACT).uncounted
    assert "attn (MultiheadAttention)" in exact
    assert "multi_head_attention_forward in forward() of attn (tensor code)" in exact
    assert "einsum in forward() of (model) (tensor code)" in exact
    assert count_module(Attention(), (torch.zeros(1, 5, 8),), PTFLOPS_07).uncounted == ["attn (MultiheadAttention)"]


def test_runner_complexity_for_the_suite_report(frame_count: int) -> None:
    for name in ("gtcrn-offline", "gtcrn-stream", "gtcrn-onnx"):
        entry = runner_complexity(registry.create(name))
        assert entry is not None and entry["kind"] == "measured"
        assert entry["convention"] == "exact" and entry["macs"] == frame_count
        assert entry["macs_per_second"] == frame_count * FRAMES_PER_SECOND
        assert entry["params_total"] == (48_228 if name == "gtcrn-onnx" else PARAMS_TOTAL)  # graph: BN folded
    paper = runner_complexity(registry.create("gtcrn-offline"), "ptflops-0.7")
    assert paper is not None and paper["macs"] == PUBLISHED_MACS
    assert runner_complexity(registry.create("gtcrn-onnx"), "ptflops-0.7") is None  # needs the offline module
    assert runner_complexity(registry.create("noisy")) is None


def test_cli_reproduces_the_published_figure_by_default(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    result = cli.invoke(app, ["complexity", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "32,998,378" in result.output
    data = json.loads(out.read_text())
    assert data["model"] == "gtcrn-offline" and data["convention"] == "ptflops-0.7" and data["frames"] == 63
    assert (data["macs"], data["macs_per_second"]) == (PUBLISHED_MACS, PUBLISHED_MACS)
    assert (data["params_total"], data["params_trainable"]) == (PARAMS_TOTAL, PARAMS_TRAINABLE)
    assert "layers" not in data


def test_cli_exact_per_layer_and_onnx_agree(tmp_path: Path, frame_count: int) -> None:
    stream, graph = tmp_path / "stream.json", tmp_path / "graph.json"
    args = ["complexity", "-r", "gtcrn-stream", "--convention", "exact", "--per-layer", "--json", str(stream)]
    assert cli.invoke(app, args).exit_code == 0
    result = cli.invoke(app, ["complexity", "--onnx", "published-onnx", "--json", str(graph)])  # exact by default
    assert result.exit_code == 0, result.output
    by_module, by_graph = json.loads(stream.read_text()), json.loads(graph.read_text())
    assert by_module["macs"] == by_graph["macs"] == frame_count
    assert by_module["macs_per_second"] == by_graph["macs_per_second"] == frame_count * FRAMES_PER_SECOND
    assert sum(row["macs"] for row in by_module["layers"]) == frame_count
    assert by_graph["source"] == "onnx" and by_graph["params_trainable"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--onnx", "published-onnx", "--convention", "ptflops-0.7"], "ONNX graphs count under exact only"),
        (["--convention", "flops"], "unknown MAC convention"),
        (["--runner", "noisy"], "holds no model"),
        (["--runner", "gtcrn-offline", "--onnx", "published-onnx"], "not both"),
        (["--onnx", "README.md"], "not an ONNX model"),
    ],
)
def test_cli_errors_are_one_line(args: list[str], message: str) -> None:
    result = cli.invoke(app, ["complexity", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


@needs_ptflops_07
def test_cli_cross_check_shows_what_ptflops_and_fvcore_miss(tmp_path: Path) -> None:
    pytest.importorskip("fvcore")
    out = tmp_path / "c.json"
    result = cli.invoke(app, ["complexity", "--cross-check", "--json", str(out)])
    assert result.exit_code == 0, result.output
    counters = {row["tool"]: row for row in json.loads(out.read_text())["cross_check"]["counters"]}
    assert counters["ptflops"]["macs"] == PUBLISHED_MACS
    assert counters["fvcore"]["macs"] == FVCORE_MACS
    assert "aten::gru x14" in counters["fvcore"]["missed"]  # GTCRN's 14 GRU calls
    assert any(item.startswith("mul x10") for item in counters["ptflops"]["missed"])  # 6 attention + 4 mask products
