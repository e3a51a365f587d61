"""Runners for timing, named as on the command line, built with the requested thread count."""

from __future__ import annotations

from typing import Any

from gtcrn_bench.latency.threads import with_threads
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner

#: names that stand for a runner with fixed parameters; ``published-onnx`` is the reference of every comparison
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "published-onnx": ("gtcrn-onnx", {"model": "published-onnx"}),
}
REFERENCE = "published-onnx"


def build_runner(name: str, params: dict[str, Any], threads: int) -> Runner:
    """Runner ``name`` (a registered runner or an alias) with ``params`` and its thread parameter set to ``threads``."""
    runner_name, fixed = ALIASES.get(name, (name, {}))
    cls = registry.get(runner_name)
    return registry.create(runner_name, **with_threads(cls, {**fixed, **params}, threads))
