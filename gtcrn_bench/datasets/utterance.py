"""One utterance of a dataset: where its files are, what their headers say, and why it may be unusable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gtcrn_bench.errors import InputError


class UtteranceError(InputError):
    """An utterance that cannot be evaluated (missing counterpart, sample-rate or length mismatch).

    The suite records it as that utterance's ``error`` and goes on with the others.
    """


@dataclass(frozen=True)
class Utterance:
    """A noisy file and (for paired sets) its clean reference.

    ``name`` is the file name shared by ``clean/`` and ``noisy/`` (e.g. ``p232_001.wav``)
    and keys the result rows. ``sample_rate`` and ``duration_s`` come from the noisy
    file's header (None when it cannot be read); the sha256s are the manifest's, when
    there is one. ``problem`` says why the utterance cannot be loaded: it is listed
    anyway, so the run records a row with the reason instead of silently dropping it.
    """

    name: str
    noisy: Path | None
    clean: Path | None
    sample_rate: int | None = None
    duration_s: float | None = None
    sha256_clean: str | None = None
    sha256_noisy: str | None = None
    problem: str | None = None

    @property
    def id(self) -> str:
        """The name without its extension (``p232_001``)."""
        return Path(self.name).stem
