"""Runners for timing, named as on the command line, built with the requested thread count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.latency.threads import with_threads
from gtcrn_bench.runners import registry
from gtcrn_bench.runners.base import Runner

#: names that stand for a runner with fixed parameters (``published-onnx``: the usual reference of a comparison)
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "published-onnx": ("gtcrn-onnx", {"model": "published-onnx"}),
}


def build_runner(name: str, params: dict[str, Any], threads: int) -> Runner:
    """Runner ``name`` (a registered runner or an alias) with ``params`` and its thread parameter set to ``threads``."""
    runner_name, fixed = ALIASES.get(name, (name, {}))
    cls = registry.get(runner_name)
    return registry.create(runner_name, **with_threads(cls, {**fixed, **params}, threads))


@dataclass(frozen=True)
class RunnerSpec:
    """One runner to time, written ``NAME`` or ``NAME:key=value,key=value`` (as ``--compare`` takes it).

    ``label`` is the text as written: it names the runner in tables and JSON,
    so one runner given twice with other parameters gets two labels
    (``gtcrn-stream`` and ``gtcrn-stream:engine=eager``).
    """

    label: str
    name: str
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> RunnerSpec:
        """Split ``NAME[:key=value,...]`` at the first colon (values may contain colons, not commas)."""
        label = text.strip()
        name, sep, rest = label.partition(":")
        if not name:
            raise ConfigError(f"'{text}': expected NAME or NAME:key=value,key=value")
        params = registry.parse_params(rest.split(",")) if sep else {}
        return cls(label, name.strip(), params)

    def build(self, threads: int, extra: dict[str, str] | None = None) -> Runner:
        """The runner, with ``extra`` parameters on top of the written ones."""
        return build_runner(self.name, {**self.params, **(extra or {})}, threads)
