"""Shards: a deterministic 1/N of a suite's utterances per run, for batch schedulers (Slurm arrays).

Utterance ``i`` (in the dataset's stable order, after ``--limit``) belongs to
shard ``i mod N + 1``, so shards are disjoint, cover the set and are balanced
to within one utterance; every runner of an utterance is in the same shard (its
audio is read once). :func:`gtcrn_bench.suite.merge.merge_shards` puts the
results folders back together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from gtcrn_bench.errors import ConfigError

T = TypeVar("T")
_SHARD = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based, as Slurm's ``$SLURM_ARRAY_TASK_ID`` usually is)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 1 <= I <= N; a :class:`ConfigError` saying so otherwise."""
        match = _SHARD.match(text.strip())
        if match is None or not 1 <= int(match[1]) <= int(match[2]):
            raise ConfigError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. --shard 2/8")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def select(self, items: list[T]) -> list[T]:
        """This shard's share of ``items``: every N-th, starting at position I-1."""
        return items[self.index - 1 :: self.count]
