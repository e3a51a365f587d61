"""The ``gtcrn-bench`` command line. Each command lives in its own module of this package."""

from __future__ import annotations

from gtcrn_bench.cli import enhance, fetch, listing  # noqa: F401  (modules register their commands)
from gtcrn_bench.cli.app import app

__all__ = ["app"]
