"""Dataset kinds by name, so a suite's ``dataset.kind`` picks the class and new kinds plug in.

:class:`Dataset` declares everything the suite may ask of a dataset. A kind is
any callable ``(root, **options) -> Dataset``; the built-in kinds (``paired-dir``,
``vctk-demand``) register on import of their modules, third-party kinds through
the ``gtcrn_bench.datasets`` entry-point group (the entry point's name is the
kind, its object the factory), through the same registry mechanism as runners
and metrics (:mod:`gtcrn_bench.plugins`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from gtcrn_bench.datasets.utterance import Utterance
from gtcrn_bench.plugins import Registry


class Dataset(ABC):
    """What the suite needs from a dataset (instances must pickle: worker processes receive them)."""

    @abstractmethod
    def utterances(self) -> list[Utterance]:
        """Every utterance, in a stable order, including the ones with a recorded ``problem``."""

    @abstractmethod
    def load(self, utterance: Utterance) -> tuple[np.ndarray | None, np.ndarray]:
        """(clean or None, noisy) as 16 kHz mono float32 of equal length."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Provenance for metadata.json: kind, root, manifest hash or file hashes, counts."""

    def verify(self) -> None:  # noqa: B027  (optional, with a default: not abstract)
        """Check the files against the dataset's manifest before a run; raise naming every bad file.

        The default checks nothing: a kind without a manifest has nothing to check against.
        """

    def has_references(self) -> bool:
        """Whether the set has clean references (False: a reference-free, noisy-only set)."""
        return True

    def notices(self) -> list[str]:
        """What a user should know before the run starts (e.g. no manifest: files are not checked); shown on
        the console. The default has nothing to say."""
        return []


Factory = Callable[..., Dataset]
F = TypeVar("F", bound=Factory)


def _accept(kind: str, obj: object) -> list[tuple[str, Factory]]:
    """An entry point of ``gtcrn_bench.datasets`` names a factory (e.g. a Dataset subclass) for kind ``kind``."""
    if not callable(obj):
        raise TypeError(f"entry point '{kind}' names {obj!r}, not a dataset factory")
    return [(kind, obj)]


KINDS: Registry[Factory] = Registry(
    "dataset kind",
    "gtcrn_bench.datasets",
    ("gtcrn_bench.datasets.paired", "gtcrn_bench.datasets.vctk_demand"),
    _accept,
)


def register(kind: str) -> Callable[[F], F]:
    """Decorator: make a dataset class (or factory) available as ``kind``."""

    def decorate(factory: F) -> F:
        KINDS.register(kind, factory)
        return factory

    return decorate


def kinds() -> list[str]:
    """Every registered kind, sorted."""
    return sorted(KINDS.names())


def get(kind: str) -> Factory:
    """The factory of ``kind``; :class:`ConfigError` listing the known kinds otherwise."""
    return KINDS.get(kind)


def open_dataset(kind: str, root: str | Path | None, **options: Any) -> Dataset:
    """Build a dataset of ``kind`` at ``root`` (None: the kind's default location)."""
    return get(kind)(root, **options)
