"""Dataset kinds by name, so a suite's ``dataset.kind`` picks the class and new kinds plug in.

A kind is any callable ``(root, **options) -> Dataset``; built-in kinds register
on import of :mod:`gtcrn_bench.datasets`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from gtcrn_bench.datasets.utterance import Utterance
from gtcrn_bench.errors import ConfigError


class Dataset(Protocol):
    """What the suite needs from a dataset (instances must pickle: worker processes receive them)."""

    def utterances(self) -> list[Utterance]:
        """Every utterance, in a stable order, including the ones with a recorded ``problem``."""
        ...

    def verify(self) -> None:
        """Check the files against the dataset's manifest before a run; raise naming every bad file."""
        ...

    def load(self, utterance: Utterance) -> tuple[np.ndarray | None, np.ndarray]:
        """(clean or None, noisy) as 16 kHz mono float32 of equal length."""
        ...

    def describe(self) -> dict[str, Any]:
        """Provenance for metadata.json: kind, root, manifest hash or file hashes, counts."""
        ...

    def has_references(self) -> bool:
        """Whether the set has clean references (False: a reference-free, noisy-only set)."""
        ...


def has_references(dataset: Dataset) -> bool:
    """``dataset.has_references()``; a kind written before that method existed is taken to have references."""
    method = getattr(dataset, "has_references", None)
    return True if method is None else bool(method())


Factory = Callable[..., Dataset]
F = TypeVar("F", bound=Factory)

_KINDS: dict[str, Factory] = {}


def register(kind: str) -> Callable[[F], F]:
    """Decorator: make a dataset class (or factory) available as ``kind``."""

    def decorate(factory: F) -> F:
        existing = _KINDS.get(kind)
        if existing is not None and existing is not factory:
            raise ValueError(f"dataset kind '{kind}' is taken by {existing!r}")
        _KINDS[kind] = factory
        return factory

    return decorate


def kinds() -> list[str]:
    """Every registered kind, sorted."""
    return sorted(_KINDS)


def get(kind: str) -> Factory:
    """The factory of ``kind``; :class:`ConfigError` listing the known kinds otherwise."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise ConfigError(f"unknown dataset kind '{kind}'; known: {', '.join(kinds())}") from None


def open_dataset(kind: str, root: str | Path | None, **options: Any) -> Dataset:
    """Build a dataset of ``kind`` at ``root`` (None: the kind's default location)."""
    return get(kind)(root, **options)
