"""``streaming-onnx``: any frame-wise spectral ONNX model described by a card, run frame by frame.

The harness's own frame-wise STFT (:class:`~gtcrn_bench.runners.spectral.StreamingSTFT`,
with the card's window) surrounds the graph; the caches the card lists are
carried from each frame to the next. Everything a runner has comes with it:
suites, ``enhance``, latency (the graph call timed apart from the whole step),
complexity counted from the graph beside the card's published figure, and an
enhanced-audio cache identity holding the card's and the graph's sha256.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gtcrn_bench.download import download, sha256_file
from gtcrn_bench.runners.base import Countable, ModelCall, PublishedFigure
from gtcrn_bench.runners.cards import Card, check_against_graph, load_card
from gtcrn_bench.runners.registry import register
from gtcrn_bench.runners.spectral import SpectralFrameRunner, StreamingSTFT
from gtcrn_bench.store import home, resolve


def graph_file(card: Card, card_file: Path) -> Path:
    """The card's graph as a local file: a store alias (sha256-pinned), a path beside the card, or a URL fetched
    once into the store and verified against the card's sha256."""
    ref = card.graph
    if ref.store is not None:
        return resolve(ref.store)
    if ref.path is not None:
        path = (card_file.parent / ref.path).expanduser()
        return resolve(str(path))
    assert ref.url is not None and ref.sha256 is not None  # the card's schema makes sure
    dest = home() / "models" / "cards" / f"{ref.sha256}.onnx"
    if not dest.is_file():
        download(ref.url, dest, ref.sha256, description=card.name)
    return dest


def window(name: str, n_fft: int) -> np.ndarray:
    """The card's analysis/synthesis window as torch makes it (periodic), so a sqrt-Hann card matches GTCRN exactly."""
    import torch

    hann = torch.hann_window(n_fft, periodic=True)
    return (hann.pow(0.5) if name == "sqrt-hann" else hann).numpy().astype(np.float32)


@register
class StreamingOnnx(SpectralFrameRunner):
    """A card's graph in onnxruntime, one STFT frame at a time."""

    name = "streaming-onnx"
    description = "any frame-wise spectral ONNX model described by a card (e.g. card=ul-unas), frame by frame"
    packages = ("onnxruntime",)
    thread_param = "intra_threads"

    def __init__(self, card: str = "gtcrn-published", intra_threads: int = 1, optimization: str = "all") -> None:
        """``card``: a packaged card's name (``gtcrn-published``, ``ul-unas``) or a card file."""
        from gtcrn_bench.onnxrt import open_session, session_options

        super().__init__()
        self.card, self.card_file = load_card(card)
        self.graph = graph_file(self.card, self.card_file)
        self.session = open_session(self.graph, session_options(intra_threads, 1, optimization))
        check_against_graph(self.card, self.card_file, self.session.get_inputs(), self.session.get_outputs())
        self.hop = self.card.stft.hop
        self.frame_delay = self.hop
        self.delay = self.card.delay
        self.min_samples = self.card.stft.n_fft // 2 + 1
        self.stft = StreamingSTFT(window(self.card.stft.window, self.card.stft.n_fft))
        self.outputs = [self.card.output.name, *(c.output for c in self.card.caches)]
        self.feeds: dict[str, np.ndarray] = {}
        self.reset_state()

    def artefacts(self) -> dict[str, str]:
        return {"card": sha256_file(self.card_file), "onnx": sha256_file(self.graph)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "card_name": self.card.name}

    def countable(self) -> Countable:
        """The graph run once per frame, and the card's published figure beside it."""
        published = None
        if self.card.published is not None:
            pub = self.card.published
            published = PublishedFigure(pub.params, pub.macs_per_second, pub.source)
        return Countable(
            self.card.name, onnx_paths=(self.graph,), steps_per_second=self.hops_per_second, published=published
        )

    def thread_settings(self) -> dict[str, Any]:
        from gtcrn_bench.onnxrt import session_threads

        return {"onnxruntime session": session_threads(self.session)}

    def reset_state(self) -> None:
        self.feeds = {c.name: np.full(c.shape, c.initial, dtype=np.float32) for c in self.card.caches}

    def step(self, spec: np.ndarray) -> np.ndarray:
        """One frame through the graph; the cache outputs become the next frame's cache inputs."""
        self.feeds[self.card.input.name] = spec
        enhanced, *caches = self.session.run(self.outputs, self.feeds)
        for cache, value in zip(self.card.caches, caches, strict=True):
            self.feeds[cache.name] = value
        return enhanced

    def model_call(self, audio: np.ndarray) -> ModelCall:
        """``step(spectrum)`` alone, fed with frames of ``audio`` analysed with the card's own window."""
        self.stft.reset()
        hops = audio[: audio.size // self.hop * self.hop].reshape(-1, self.hop)
        frames = [self.stft.analysis(h).copy() for h in hops]
        self.reset()
        return ModelCall(self.step, frames, "step(spectrum): the model call", 1000.0 * self.hop / self.sample_rate)

    def process(self, wave: np.ndarray) -> np.ndarray:
        """Enhance frame by frame; a NaN or Inf output names the first frame and tensor where it appeared."""
        out = super().process(wave)
        if not np.all(np.isfinite(out)):
            self._raise_first_non_finite(wave)
        return out

    def _raise_first_non_finite(self, wave: np.ndarray) -> None:
        from gtcrn_bench.onnx.session import NonFiniteOutputError

        self.reset()
        wave = self.check_input(wave)
        n_full = wave.size // self.hop
        what = f"{self.name} ({self.card.name}: {self.graph.name})"
        for t in range(n_full + 1):
            hop = wave[t * self.hop : (t + 1) * self.hop]
            spec = self.stft.analysis(hop) if t < n_full else self.stft.last_frame(hop)
            self.feeds[self.card.input.name] = spec
            values = self.session.run(self.outputs, self.feeds)
            bad = [name for name, v in zip(self.outputs, values, strict=True) if not np.all(np.isfinite(v))]
            if bad:
                raise NonFiniteOutputError.first_in(what, t, bad)
            for cache, value in zip(self.card.caches, values[1:], strict=True):
                self.feeds[cache.name] = value
        raise NonFiniteOutputError(f"{what}: the output waveform is not finite, though no frame was", -1, "waveform")
