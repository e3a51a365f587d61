"""Frame-wise STFT analysis/synthesis for streaming spectral models such as GTCRN.

:class:`StreamingSTFT` reproduces ``torch.stft``/``torch.istft`` with
``center=True`` exactly while seeing the signal one hop at a time:

- the start's reflect padding needs ``x[1..256]``; all but ``x[256]`` are in the
  first hop, and ``x[256]`` falls on the window's zero at index 0, so frame 0 is
  exact without waiting;
- the end's reflect padding is built in :meth:`flush` from the last 512 samples;
- synthesis divides the overlap-add by the summed squared window, as
  ``torch.istft`` does (1 in the interior, the last frame's alone at the end).

Frame k is analysed when hop k arrives, so the output stream lags the input by
one hop (256 samples = 16 ms; 32 ms algorithmic latency with the hop's buffering).
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from gtcrn_bench.runners.base import FrameRunner, ModelCall
from gtcrn_bench.stft import HOP, N_FFT, stft, window

_ENVELOPE_FLOOR = 1e-11  # torch.istft's own threshold for a usable window envelope


class StreamingSTFT:
    """Hop-by-hop STFT and overlap-add ISTFT matching the offline GTCRN convention.

    ``window``: the analysis and synthesis window (default GTCRN's sqrt-Hann of
    512); its length is the FFT size and the hop is half of it.
    """

    def __init__(self, window_values: np.ndarray | None = None) -> None:
        self.window = window().numpy().astype(np.float32) if window_values is None else window_values
        self.n_fft = self.window.size
        self.hop = self.n_fft // 2
        self.window_sq = self.window**2
        self.frame = np.zeros(self.n_fft, dtype=np.float32)
        self.ola = np.zeros(self.n_fft, dtype=np.float32)
        self.envelope = np.zeros(self.n_fft, dtype=np.float32)
        self.spec = np.zeros((1, self.n_fft // 2 + 1, 1, 2), dtype=np.float32)
        self.started = False

    def reset(self) -> None:
        """Start a new stream."""
        self.frame[:] = 0
        self.ola[:] = 0
        self.envelope[:] = 0
        self.started = False

    def _analyse(self, frame: np.ndarray) -> np.ndarray:
        bins = np.fft.rfft(frame * self.window)
        self.spec[0, :, 0, 0] = bins.real
        self.spec[0, :, 0, 1] = bins.imag
        return self.spec

    def analysis(self, hop: np.ndarray) -> np.ndarray:
        """One hop (256 samples for GTCRN) -> the (1, 257, 1, 2) spectrum of the frame it completes.

        The returned array is reused by the next call: copy it to keep it.
        """
        if self.started:
            self.frame[: self.hop] = self.frame[self.hop :]
        else:
            # reflect padding of the start; index 0 (x[256], not yet known) is under the window's zero
            self.frame[0] = 0.0
            self.frame[1 : self.hop] = hop[self.hop - 1 : 0 : -1]
            self.started = True
        self.frame[self.hop :] = hop
        return self._analyse(self.frame)

    def last_frame(self, tail: np.ndarray) -> np.ndarray:
        """End of stream: the spectrum of the final frame, with the end's reflect padding.

        ``tail`` is the input after the last full hop (0 to 255 samples); at least
        one full hop must have been analysed.
        """
        seen = np.concatenate([self.frame, tail])  # the padded signal from the last frame's start on
        extended = np.concatenate([seen, seen[-2::-1][: self.hop - tail.size]])
        return self._analyse(extended[self.hop :])

    def synthesis(self, spec: np.ndarray, n_out: int | None = None) -> np.ndarray:
        """Overlap-add one enhanced frame; returns the next ``n_out`` completed samples."""
        n_out = self.hop if n_out is None else n_out
        bins = spec[0, :, 0, 0] + 1j * spec[0, :, 0, 1]
        self.ola += np.fft.irfft(bins, self.n_fft).astype(np.float32) * self.window
        self.envelope += self.window_sq
        env = self.envelope[:n_out]
        out = np.divide(self.ola[:n_out], env, out=np.zeros(n_out, np.float32), where=env > _ENVELOPE_FLOOR)
        self.ola = np.concatenate([self.ola[n_out:], np.zeros(n_out, np.float32)])
        self.envelope = np.concatenate([self.envelope[n_out:], np.zeros(n_out, np.float32)])
        return out


class SpectralFrameRunner(FrameRunner):
    """A frame runner whose model maps one (1, 257, 1, 2) spectrum frame to another.

    Subclasses implement :meth:`reset_state` and :meth:`step`; :meth:`step` alone
    is what the published RTF times (the model call, STFT excluded).
    """

    hop = HOP
    frame_delay = HOP
    min_samples = N_FFT // 2 + 1  # reflect padding of 256 needs more than 256 samples

    def __init__(self) -> None:
        self.stft = StreamingSTFT()

    @abstractmethod
    def reset_state(self) -> None:
        """Reset the model's caches."""

    @abstractmethod
    def step(self, spec: np.ndarray) -> np.ndarray:
        """One (1, 257, 1, 2) float32 spectrum frame in, the enhanced frame out."""

    def reset(self) -> None:
        self.stft.reset()
        self.reset_state()

    def model_call(self, audio: np.ndarray) -> ModelCall:
        """``step(spectrum)`` alone, as the published RTF times one session run per 16 ms frame."""
        import torch

        spec = stft(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))).numpy()
        frames = [np.ascontiguousarray(spec[:, :, t : t + 1]) for t in range(spec.shape[2])]
        return ModelCall(self.step, frames, "step(spectrum): the model call", 1000.0 * self.hop / self.sample_rate)

    def process_hop(self, hop: np.ndarray) -> np.ndarray:
        return self.stft.synthesis(self.step(self.stft.analysis(hop)))

    def flush(self, tail: np.ndarray) -> np.ndarray:
        return self.stft.synthesis(self.step(self.stft.last_frame(tail)), n_out=self.stft.n_fft)
