"""Measuring a model's complexity under a convention, and the figures the suite report shows per runner."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gtcrn_bench.complexity import conventions
from gtcrn_bench.complexity.conventions import PAPER_FRAMES, Convention
from gtcrn_bench.complexity.modules import LayerCount, OpCount, count_module
from gtcrn_bench.complexity.onnx_count import count_onnx
from gtcrn_bench.complexity.params import ONNX_PARAMS_NOTE, ParamCount, module_params, onnx_params
from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Countable, Runner


@dataclass(frozen=True)
class Complexity:
    """MACs of one counted run, the audio it covers, and the model's parameters."""

    model: str
    source: str  # "pytorch" (module counter) or "onnx" (graph counter)
    convention: str
    frames: int  # frames the counted run processed (1 for a streaming step)
    frames_per_second: float | None  # 62.5 for GTCRN's streaming step; 63 under ptflops-0.7 (the paper's second)
    count: OpCount
    params: ParamCount

    @property
    def macs(self) -> int:
        return self.count.macs

    @property
    def macs_per_frame(self) -> float:
        return self.count.macs / self.frames

    @property
    def macs_per_second(self) -> float | None:
        return None if self.frames_per_second is None else self.macs_per_frame * self.frames_per_second

    def to_dict(self, per_layer: bool = False) -> dict[str, Any]:
        """The JSON form; ``layers`` (one row per module or node) only when asked."""
        out: dict[str, Any] = {
            "model": self.model,
            "source": self.source,
            "convention": self.convention,
            "frames": self.frames,
            "macs": self.macs,
            "macs_per_frame": self.macs_per_frame,
            "frames_per_second": self.frames_per_second,
            "macs_per_second": self.macs_per_second,
            "params_total": self.params.total,
            "params_trainable": self.params.trainable,
            "params_frozen": self.params.frozen,
            "buffers": self.params.buffers,
            "frozen_tensors": self.params.frozen_tensors,
            "params_by_module": self.params.by_module,
            "params_note": self.params.note,
            "uncounted": self.count.uncounted,
            "notes": self.count.notes,
        }
        if per_layer:
            out["layers"] = [asdict(row) for row in self.count.layers]
        return out


def _merge_onnx(countable: Countable) -> tuple[OpCount, ParamCount]:
    """The graphs of one streaming call, summed; layer names carry the file name when there are several."""
    layers: list[LayerCount] = []
    uncounted: list[str] = []
    notes: list[str] = []
    total_params = 0
    for path in countable.onnx_paths:
        count = count_onnx(path)
        prefix = f"{path.name}:" if len(countable.onnx_paths) > 1 else ""
        layers += [LayerCount(prefix + row.name, row.op, row.macs, row.calls, row.params) for row in count.layers]
        uncounted += [prefix + item for item in count.uncounted]
        notes += [prefix + note for note in count.notes]
        total_params += onnx_params(path).total
    count = OpCount(sum(row.macs for row in layers), layers, uncounted, notes)
    return count, ParamCount(total=total_params, note=ONNX_PARAMS_NOTE)


def supports(countable: Countable, convention: Convention) -> bool:
    """True when ``countable`` can be counted under ``convention`` (offline module vs streaming step or graphs)."""
    if convention.runs == "utterance":
        return countable.utterance is not None
    return countable.step is not None or bool(countable.onnx_paths)


def measure(countable: Countable, convention: Convention | str, frames: int = PAPER_FRAMES) -> Complexity:
    """Count ``countable`` under ``convention``; ``frames`` is the offline input length for ``ptflops-0.7``."""
    conv = conventions.get(convention) if isinstance(convention, str) else convention
    if not supports(countable, conv):
        if conv.runs == "utterance":
            need = "it is defined on an offline PyTorch module (ONNX graphs count under exact only)"
        else:
            need = "it needs a streaming step (a PyTorch streaming module or an ONNX graph)"
        raise ConfigError(f"{countable.name} cannot be counted under {conv.name}: {need}")
    if conv.runs == "utterance":
        if frames < 1:
            raise ConfigError(f"--frames must be at least 1, got {frames}")
        module, make_inputs = countable.utterance
        count = count_module(module, make_inputs(frames), conv)
        return Complexity(countable.name, "pytorch", conv.name, frames, PAPER_FRAMES, count, module_params(module))
    if countable.step is not None:
        module, inputs = countable.step
        count, params = count_module(module, inputs, conv), module_params(module)
        return Complexity(countable.name, "pytorch", conv.name, 1, countable.steps_per_second, count, params)
    count, params = _merge_onnx(countable)
    return Complexity(countable.name, "onnx", conv.name, 1, countable.steps_per_second, count, params)


def runner_complexity(runner: Runner, convention: str = "exact") -> dict[str, Any] | None:
    """The JSON of :func:`measure` on what ``runner`` declares countable, plus ``kind: "measured"``.

    None when the runner declares nothing to count, or it cannot be counted under
    ``convention``. ``exact`` (the default) counts PyTorch and ONNX runners
    alike, so their figures compare; ``ptflops-0.7`` needs an offline module.
    """
    countable = runner.countable()
    conv = conventions.get(convention)
    if countable is None or not supports(countable, conv):
        return None
    return {**measure(countable, conv).to_dict(), "kind": "measured"}


#: the keys of a counted figure the suite report keeps (the full breakdown is ``gtcrn-bench complexity``)
SUMMARY_KEYS = ("kind", "convention", "source", "params_total", "params_trainable", "macs_per_frame", "macs_per_second")


def runner_figures(runner: Runner) -> dict[str, Any] | None:
    """What a report shows for a runner's size and compute: counted (``exact``), else published, else None."""
    counted = runner_complexity(runner)
    countable = runner.countable()
    published = None if countable is None else countable.published
    if counted is not None:
        figures = {k: counted.get(k) for k in SUMMARY_KEYS}
        if published is not None:  # the publication's own figures beside the count, with their source
            figures["published"] = {
                "params": published.params,
                "macs_per_second": published.macs_per_second,
                "source": published.source,
            }
        return figures
    if published is None or published.params is None:
        return None
    return {
        "kind": "published",
        "source": published.source,
        "params_total": published.params,
        "macs_per_second": published.macs_per_second,
    }
