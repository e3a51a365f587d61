"""What the ``complexity`` command counts: a runner's model or an ONNX graph, under which convention by default.

The command line only parses options and prints; the choice of what is counted lives here, so a script
asking for "the complexity of runner X" gets the same thing as the command.
"""

from __future__ import annotations

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Countable
from gtcrn_bench.stft import FRAMES_PER_SECOND
from gtcrn_bench.store import resolve

#: counted when neither a runner nor a graph is named: the model the published 33.0 MMACs/s describes
DEFAULT_RUNNER = "gtcrn-offline"


def countable_for(
    runner: str | None = None,
    onnx: str | None = None,
    params: dict[str, str] | None = None,
    steps_per_second: float = FRAMES_PER_SECOND,
) -> Countable:
    """The model of ``runner`` (built with ``params``) or the ONNX graph ``onnx`` (a path or store alias).

    ``steps_per_second`` is how often a bare graph is called per second of audio; a runner declares its own.
    """
    if runner is not None and onnx is not None:
        raise ConfigError("give either --runner or --onnx, not both")
    if onnx is not None:
        return Countable(onnx, onnx_paths=(resolve(onnx),), steps_per_second=steps_per_second)
    name = runner or DEFAULT_RUNNER
    countable = registry.build(name, params or {}).countable()
    if countable is None or not countable.countable:
        raise ConfigError(f"runner '{name}' holds no model the counter can read (no PyTorch GTCRN, no ONNX graph)")
    return countable


def default_convention(countable: Countable) -> str:
    """The paper's convention where it applies (a PyTorch offline module), else ``exact``."""
    return "ptflops-0.7" if countable.utterance is not None else "exact"
