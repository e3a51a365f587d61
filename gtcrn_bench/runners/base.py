"""What a runner is: noisy 16 kHz mono float32 in, enhanced audio of the same length out.

Two levels:

- :class:`Runner`: ``process(wave)`` on a whole utterance. ``delay`` is how many
  samples its output lags the input; the evaluation compensates it.
- :class:`FrameRunner`: a streaming runner that also works hop by hop
  (``reset``, ``process_hop``, ``flush``), so latency can be timed per frame.
  Its ``process`` goes through the frame-wise path and returns aligned audio.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from gtcrn_bench.errors import InputError
from gtcrn_bench.provenance import package_versions

SAMPLE_RATE = 16000


class Runner(ABC):
    """Turns a noisy waveform into an enhanced one of the same length."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    sample_rate: ClassVar[int] = SAMPLE_RATE
    #: samples by which ``process``'s output lags its input (compensated before scoring)
    delay: int = 0
    #: shortest input ``process`` accepts, in samples
    min_samples: int = 1
    #: distributions whose code computes the output: their versions are part of :meth:`describe`
    packages: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def process(self, wave: np.ndarray) -> np.ndarray:
        """Enhance a mono float32 waveform at :attr:`sample_rate`; returns the same length."""

    def params(self) -> dict[str, Any]:
        """The constructor arguments this runner was built with (for reports and cache keys)."""
        return dict(getattr(self, "_params", {}))

    def artefacts(self) -> dict[str, str]:
        """sha256 of every model file the runner uses, by role (for reproducibility)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Name, parameters, delay, artefact hashes and package versions: what identifies this runner's output.

        The enhanced-audio cache is keyed by it, so upgrading e.g. noisereduce misses the cache.
        """
        return {
            "name": self.name,
            "params": self.params(),
            "delay": self.delay,
            "artefacts": self.artefacts(),
            "packages": package_versions(self.packages),
        }

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Record constructor arguments automatically, so :meth:`params` needs no boilerplate."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

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
