"""The runner contract: everything any other package of the harness may ask of a runner, declared here.

A runner turns noisy 16 kHz mono float32 audio into enhanced audio of the same
length. Two levels:

- :class:`Runner`: ``process(wave)`` on a whole utterance (required).
- :class:`FrameRunner`: a streaming runner that also works hop by hop
  (``reset``, ``process_hop``, ``flush``; required), so latency is timed per
  frame. Its ``process`` goes through the frame-wise path.

What the rest of the harness asks, each with a default a new runner may keep:

============================  =====================================================================
asked by                      declared as
============================  =====================================================================
suite, ``enhance``            :meth:`Runner.enhance` (checked input and output), :meth:`Runner.align`
                              and :meth:`Runner.align_to_input` (the declared :attr:`Runner.delay`)
suite (cache, metadata)       :meth:`Runner.describe`, :meth:`Runner.output_identity`,
                              :meth:`Runner.artefacts`, :attr:`Runner.packages`
suite (tables)                :attr:`Runner.reference_row`: the unprocessed input, not timed or counted
complexity                    :meth:`Runner.countable`: a PyTorch module, ONNX files or a published figure
latency                       :meth:`FrameRunner.model_call` (the model call; default: the whole step),
                              :attr:`FrameRunner.hop`, :meth:`Runner.check_input`
threads (runners.threads)     :attr:`Runner.thread_param`, :meth:`Runner.thread_settings`
construction (registry)       :attr:`Runner.name`, :attr:`Runner.aliases`, the constructor's parameters
============================  =====================================================================

Nobody outside ``runners/`` asks anything else, and nobody probes a runner's
attributes: a runner that implements only the required methods gets a suite
row, latency targets, thread control and (with :meth:`countable`) a figure.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.errors import InputError, OutputError
from gtcrn_bench.provenance import package_versions
from gtcrn_bench.published import published_complexity

if TYPE_CHECKING:
    from torch import Tensor, nn

__all__ = [
    "SAMPLE_RATE",
    "Countable",
    "FrameRunner",
    "ModelCall",
    "OutputError",
    "PublishedFigure",
    "Runner",
]


@dataclass(frozen=True)
class PublishedFigure:
    """Size and compute a publication reports for a model the harness cannot count (a compiled library).

    ``params`` in parameters and ``macs_per_second`` in MACs per second of audio;
    ``source`` names the publication. Reported as published, never as measured.
    """

    params: float | None
    macs_per_second: float | None
    source: str
    note: str = ""


@dataclass(frozen=True)
class Countable:
    """What of a runner the complexity counter can count, in one of three forms.

    ``step``: a PyTorch module and the inputs of one streaming call (counted under ``exact``);
    ``utterance``: an offline PyTorch module and ``frames -> inputs`` (``ptflops-0.7``);
    ``onnx_paths``: graphs each run once per streaming call (``exact``, summed);
    ``published``: a published figure, shown as such when nothing can be counted.
    ``steps_per_second``: streaming calls per second of audio (None when unknown).
    """

    name: str
    step: tuple[nn.Module, tuple[Tensor, ...]] | None = None
    utterance: tuple[nn.Module, Callable[[int], tuple[Tensor, ...]]] | None = None
    onnx_paths: tuple[Path, ...] = ()
    steps_per_second: float | None = None
    published: PublishedFigure | None = None

    @property
    def countable(self) -> bool:
        """True when there is a module or a graph to count (not only a published figure)."""
        return self.step is not None or self.utterance is not None or bool(self.onnx_paths)


@dataclass(frozen=True)
class ModelCall:
    """What latency times as a frame runner's model call: ``call`` on each input in turn (cycling).

    ``hop_ms`` is the audio one call covers (RTF = mean time / ``hop_ms``).
    """

    call: Callable[[np.ndarray], object]
    inputs: list[np.ndarray]
    label: str
    hop_ms: float


class Runner(ABC):
    """Turns a noisy waveform into an enhanced one of the same length."""

    #: the name suites and the command line use
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    sample_rate: ClassVar[int] = SAMPLE_RATE
    #: other names for this runner with fixed parameters, e.g. ``{"published-onnx": {"model": "published-onnx"}}``
    aliases: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    #: the unprocessed input: the row improvements are measured against; it is not timed or counted
    reference_row: ClassVar[bool] = False
    #: the constructor parameter that sets the runner's thread count (None: the runner has no thread control)
    thread_param: ClassVar[str | None] = None
    #: constructor parameters that change speed, not output (left out of the cache identity with thread_param)
    speed_params: ClassVar[frozenset[str]] = frozenset()
    #: distributions whose code computes the output: all must be installed; their versions are in describe()
    packages: ClassVar[tuple[str, ...]] = ()
    #: samples by which ``process``'s output lags its input (compensated before scoring and writing)
    delay: int = 0
    #: shortest input ``process`` accepts, in samples
    min_samples: int = 1

    @abstractmethod
    def process(self, wave: np.ndarray) -> np.ndarray:
        """Enhance a mono float32 waveform at :attr:`sample_rate`; returns the same length."""

    # -- identity ---------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """The constructor arguments this runner was built with (recorded by ``__init_subclass__``)."""
        return dict(self.__dict__.get("_params", {}))

    def artefacts(self) -> dict[str, str]:
        """sha256 of every model file the runner uses, by role (for reproducibility and the cache key)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Name, parameters, delay, artefact hashes and package versions: what identifies this runner's output.

        The enhanced-audio cache is keyed by :meth:`output_identity`, so upgrading e.g. noisereduce misses it.
        """
        return {
            "name": self.name,
            "params": self.params(),
            "delay": self.delay,
            "artefacts": self.artefacts(),
            "packages": package_versions(self.packages),
        }

    @classmethod
    def speed_only(cls) -> frozenset[str]:
        """Parameters that change how fast the runner is, never what it outputs (thread counts)."""
        return cls.speed_params | ({cls.thread_param} if cls.thread_param else set())

    def output_identity(self) -> dict[str, Any]:
        """:meth:`describe` without :meth:`speed_only` parameters: a run with other thread counts reuses audio."""
        identity = self.describe()
        speed = self.speed_only()
        return {**identity, "params": {k: v for k, v in identity["params"].items() if k not in speed}}

    # -- checked processing and alignment -----------------------------------------------------------

    def check_input(self, wave: np.ndarray) -> np.ndarray:
        """Refuse what no runner can process: not 1-D, too short, non-finite."""
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1:
            raise InputError(f"{self.name}: expected a mono waveform (1-D), got shape {wave.shape}")
        if wave.size < self.min_samples:
            raise InputError(f"{self.name}: input of {wave.size} samples is shorter than the {self.min_samples} needed")
        if not np.all(np.isfinite(wave)):
            raise InputError(f"{self.name}: input contains NaN or Inf")
        return wave

    def check_output(self, out: np.ndarray, wave: np.ndarray) -> np.ndarray:
        """Refuse output that cannot be scored: :class:`OutputError` naming the first NaN/Inf sample, or the length."""
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            first = int(bad[0])
            raise OutputError(
                f"{self.name} produced NaN/Inf (first at sample {first}, {first / self.sample_rate:.3f} s)"
            )
        if out.shape != wave.shape:
            raise OutputError(f"{self.name} returned {out.size} samples for an input of {wave.size}")
        return out

    def enhance(self, wave: np.ndarray) -> np.ndarray:
        """:meth:`process` between :meth:`check_input` and :meth:`check_output`: what ``run`` and ``enhance`` call."""
        wave = self.check_input(wave)
        return self.check_output(self.process(wave), wave)

    def align(self, estimate: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scoring rule: drop :attr:`delay` samples from the estimate's start, cut both to a common length."""
        estimate = estimate[self.delay :]
        n = min(estimate.size, reference.size)
        return estimate[:n], reference[:n]

    def align_to_input(self, estimate: np.ndarray) -> np.ndarray:
        """The output lined up with the input for writing: :attr:`delay` samples dropped, zeros added at the end."""
        if self.delay == 0:
            return estimate
        return np.concatenate([estimate[self.delay :], np.zeros(self.delay, dtype=estimate.dtype)])

    # -- complexity, timing, threads ------------------------------------------------------------------

    def countable(self) -> Countable | None:
        """What the complexity counter may count; by default only the published figure, if one is listed.

        Published figures are listed by runner name in the packaged ``complexity.yaml``
        (for libraries the harness cannot count, such as RNNoise). A runner with a
        model to count returns it here (see :class:`Countable`), keeping
        :meth:`published_figure` beside it for comparison.
        """
        figure = self.published_figure()
        return None if figure is None else Countable(self.name, published=figure)

    def published_figure(self) -> PublishedFigure | None:
        """The published size and compute of this runner's model (``complexity.yaml``), or None."""
        found = published_complexity(self.name)
        if found is None:
            return None
        params = found.get("params_m")
        gmacs = found.get("gmacs_per_s")
        return PublishedFigure(
            params=None if params is None else params * 1e6,
            macs_per_second=None if gmacs is None else gmacs * 1e9,
            source=found["source"],
            note=found.get("note", ""),
        )

    def thread_settings(self) -> dict[str, Any]:
        """Thread counts as the runner's own libraries report them (e.g. each onnxruntime session's options)."""
        return {}

    # -- parameters recorded without boilerplate ------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Record constructor arguments, so :meth:`params` needs no boilerplate; check the declared thread param."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)
        if cls.thread_param is not None and cls.thread_param not in signature.parameters:
            raise TypeError(f"{cls.__qualname__}.thread_param '{cls.thread_param}' is not a constructor parameter")

        @functools.wraps(init)
        def recording_init(self: Runner, *args: Any, **kw: Any) -> None:
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            if "_params" not in self.__dict__:  # the most derived constructor records first
                self._params = dict(list(bound.arguments.items())[1:])
            init(self, *args, **kw)

        cls.__init__ = recording_init  # type: ignore[method-assign]


class FrameRunner(Runner):
    """A streaming runner: hop-sized chunks in, hop-sized chunks out, state kept between calls.

    ``frame_delay`` is how many samples the frame-wise output stream lags the input
    stream; :meth:`process` removes it, so a frame runner's ``delay`` is 0 unless
    the model itself adds one.
    """

    hop: int = 256
    frame_delay: int = 0

    @abstractmethod
    def reset(self) -> None:
        """Forget all state: the next hop starts a new stream."""

    @abstractmethod
    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        """One hop of input (``hop`` samples) -> one hop of output."""

    @abstractmethod
    def flush(self, tail: np.ndarray) -> np.ndarray:
        """End of stream: the last partial hop (< ``hop`` samples) in, all remaining output out."""

    def model_call(self, audio: np.ndarray) -> ModelCall | None:
        """The model call latency times apart from the whole step, fed from ``audio``; None: the step is the call."""
        return None

    @property
    def hops_per_second(self) -> float:
        """Frame-wise calls per second of audio."""
        return self.sample_rate / self.hop

    def process(self, wave: np.ndarray) -> np.ndarray:
        wave = self.check_input(wave)
        self.reset()
        n_full = wave.size // self.hop
        chunks = [self.process_hop(wave[i * self.hop : (i + 1) * self.hop]) for i in range(n_full)]
        chunks.append(self.flush(wave[n_full * self.hop :]))
        out = np.concatenate(chunks)[self.frame_delay : self.frame_delay + wave.size]
        if out.size < wave.size:
            out = np.pad(out, (0, wave.size - out.size))
        return out.astype(np.float32, copy=False)
