"""The metric registry: what each metric is, which package computes it, and whether it can run here.

Every metric is a :class:`Metric` registered by its family module (``pesq_metric``,
``stoi``, ``si_sdr``, ``dnsmos``, ``composite``). Metrics that come out of one
computation (the four DNSMOS outputs, the composite measures) share a ``group``
and one ``compute`` function, which :func:`gtcrn_bench.metrics.compute` calls
once per utterance for the whole group. Family modules import their packages
lazily, so the registry loads without the ``metrics`` extra; a metric whose
package is missing is listed by :func:`unavailable` with the reason.
Third-party metrics come through the ``gtcrn_bench.metrics`` entry-point group
(the entry point names a :class:`Metric` or a list of them, one group), by the
same mechanism as runners and dataset kinds (:mod:`gtcrn_bench.plugins`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.plugins import Registry

BUILTIN_MODULES = (
    "gtcrn_bench.metrics.pesq_metric",
    "gtcrn_bench.metrics.stoi",
    "gtcrn_bench.metrics.si_sdr",
    "gtcrn_bench.metrics.dnsmos",
    "gtcrn_bench.metrics.composite",
    "gtcrn_bench.metrics.distill_mos",
    "gtcrn_bench.metrics.pdnsmos",
    "gtcrn_bench.metrics.spk_sim",
    "gtcrn_bench.metrics.asr",
    "gtcrn_bench.metrics.lsd",
)
OWN_DISTRIBUTION = "gtcrn-bench"
# Named metric sets a suite may give as ``metrics:`` (``full`` is every installed metric, see resolve_set).
SETS: dict[str, tuple[str, ...]] = {
    "quick": ("pesq_wb", "stoi", "si_sdr"),
    "standard": (
        "pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808",
        "csig", "cbak", "covl", "ssnr",
    ),
}  # fmt: skip
FULL_SET = "full"
DEFAULT_SET = "standard"


class MetricError(Exception):
    """An expected reason why a metric has no value for one utterance (silent reference, too short, ...)."""


@dataclass
class Pair:
    """The signals one group is computed on, with a per-utterance memo for results groups share.

    ``reference`` is None for no-reference metrics; when present it has the
    estimate's length. ``transcript`` is the utterance's text when the dataset
    has one (the word error metrics score against it). ``cached`` lets one group reuse what another computed on
    the same signals (the composite measures reuse the PESQ score).
    """

    estimate: np.ndarray
    reference: np.ndarray | None
    sample_rate: int
    memo: dict[str, Any] = field(default_factory=dict)
    transcript: str | None = None

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    def need_reference(self) -> np.ndarray:
        """The reference (the registry only hands reference metrics a pair that has one)."""
        assert self.reference is not None, "a reference metric was given no reference"
        return self.reference


GroupFunction = Callable[[Pair], Mapping[str, float]]


@dataclass(frozen=True)
class Metric:
    """One registered metric.

    ``compute`` returns the values of every metric of ``group`` (metrics of one
    group share the function); it raises :class:`MetricError` with a readable
    reason when the utterance cannot be scored. ``package`` is the distribution
    whose code produces the value, ``uses`` other distributions it depends on
    (both named with their versions in :func:`provenance`), ``modules`` the
    import names that must be present, ``sample_rates`` the rates it accepts
    (None: any), ``install`` the command that installs what it needs (shown
    when a module is missing). ``cost_ms_per_s`` is the group's measured
    time in milliseconds per second of audio (``tests/benchmarks/
    test_metrics_bench.py``; machine and commit in ``docs/metrics-extra.md``),
    declared here so listing metrics computes nothing; None: not measured.
    """

    name: str
    higher_is_better: bool
    needs_reference: bool
    package: str
    implementation: str
    compute: GroupFunction
    group: str
    unit: str = ""
    sample_rates: tuple[int, ...] | None = None
    modules: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    install: str = "pip install 'gtcrn-bench[metrics]'"
    cost_ms_per_s: float | None = None

    def missing_module(self) -> str | None:
        """The first import name this metric needs that is not installed, or None."""
        return next((m for m in self.modules if importlib.util.find_spec(m) is None), None)


def _accept(entry_name: str, obj: object) -> list[tuple[str, Metric]]:
    """An entry point of ``gtcrn_bench.metrics`` names a :class:`Metric` or a list of Metrics (one group)."""
    found = obj if isinstance(obj, (list, tuple)) else [obj]
    if not found or not all(isinstance(m, Metric) for m in found):
        raise TypeError(f"entry point '{entry_name}' names {obj!r}, not a gtcrn_bench Metric or a list of them")
    return [(m.name, _checked(m)) for m in found]


METRICS: Registry[Metric] = Registry("metric", "gtcrn_bench.metrics", BUILTIN_MODULES, _accept)


def _checked(metric: Metric) -> Metric:
    """A group's metrics must share one compute function (it is called once per utterance for all of them)."""
    for other in METRICS.registered().values():
        if other.group == metric.group and other.compute is not metric.compute:
            raise ValueError(f"metric '{metric.name}' joins group '{metric.group}' with another compute function")
    return metric


def register(metric: Metric) -> Metric:
    """Make ``metric`` available by name; a group's metrics must share one compute function."""
    return METRICS.register(metric.name, _checked(metric))


def load_builtins() -> None:
    """Import the built-in metric modules and plugins once (they register on import), in the canonical order."""
    METRICS.load()


def get(name: str) -> Metric:
    """The metric called ``name``; ConfigError naming the known ones otherwise."""
    return METRICS.get(name)


def names(include_unavailable: bool = False) -> list[str]:
    """Registered metric names in registration order; by default only those whose packages are installed."""
    return [n for n, m in METRICS.items().items() if include_unavailable or m.missing_module() is None]


def available() -> dict[str, Metric]:
    """Every metric that can run in this environment, by name."""
    return {n: get(n) for n in names()}


def unavailable() -> dict[str, str]:
    """Registered metrics that cannot run here, with the reason (a missing package)."""
    reasons = dict(METRICS.unavailable())
    for name, metric in METRICS.items().items():
        module = metric.missing_module()
        if module is not None:
            reasons[name] = f"needs the Python module '{module}' ({metric.install})"
    return reasons


def require(requested: list[str]) -> None:
    """ConfigError if any requested metric is unknown or cannot run here (for checking a suite up front)."""
    missing = unavailable()
    problems = [f"{n}: {missing[n]}" for n in requested if n in missing]
    unknown = [n for n in requested if n not in names(include_unavailable=True)]
    if unknown:
        problems.insert(0, f"unknown {', '.join(unknown)} (known: {', '.join(names(include_unavailable=True))})")
    if problems:
        raise ConfigError("metrics: " + "; ".join(problems))


def set_names() -> list[str]:
    """The names a suite may give instead of a list of metrics."""
    return [*SETS, FULL_SET]


def resolve_set(spec: str | list[str] | None) -> list[str]:
    """The metric names of a suite's ``metrics:`` value: a set name, a list, or None (the standard set).

    ``full`` is every metric installed here; a named set's members must all be
    installed (:func:`require` says which is not). ConfigError for an unknown set name.
    """
    if spec is None:
        spec = DEFAULT_SET
    if isinstance(spec, list):
        return list(spec)
    if spec == FULL_SET:
        return names()
    if spec not in SETS:
        raise ConfigError(f"metrics: unknown set '{spec}' (sets: {', '.join(set_names())}; or give a list of names)")
    return list(SETS[spec])


def cost_ms_per_s(requested: list[str]) -> float | None:
    """Declared cost of computing ``requested`` together, in ms per second of audio (None: a group unmeasured).

    Each group counts once (its metrics come out of one computation). An upper
    bound: groups that reuse another's result (the composite measures reuse PESQ-WB) count in full.
    """
    groups = {get(n).group: get(n).cost_ms_per_s for n in requested}
    costs = list(groups.values())
    return None if any(c is None for c in costs) else float(sum(c for c in costs if c is not None))


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def provenance(requested: list[str]) -> dict[str, str]:
    """For each metric: ``"package==version (implementation; uses ...)"``, as stored with every run."""
    out = {}
    for name in requested:
        metric = get(name)
        text = metric.implementation
        if metric.uses:
            text += "; with " + ", ".join(f"{d}=={_version(d)}" for d in metric.uses)
        out[name] = f"{metric.package}=={_version(metric.package)} ({text})"
    return out
