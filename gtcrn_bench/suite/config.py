"""Suite files: YAML declaring the dataset, the runners with their parameters, the metrics and what else to measure.

Validation errors name the file, the key and what is allowed, e.g.
``suites/x.yaml: runners[1].name: unknown runner 'gtcrn-ofline'; available: ...``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners import registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunnerEntry(_Strict):
    """One runner of the suite; ``label`` distinguishes two entries of the same runner."""

    name: str
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The name this entry has in tables: its label, else the runner name."""
        return self.label or self.name


class DatasetConfig(_Strict):
    """Where the audio is. ``root`` may use ``~``, ``$VARS`` and ``{store}`` (the model store's home);
    omitted, the kind's default location is used (``vctk-demand``: where ``fetch vctk-demand`` puts it).
    ``manifest``: omitted, a ``manifest.csv`` is checked when present; true requires it; false ignores it.
    """

    kind: str = "paired-dir"
    root: str | None = None
    manifest: bool | None = None
    published: str | None = Field(None, description="key of baselines/published.yaml shown beside the results")

    @field_validator("kind")
    @classmethod
    def _kind_exists(cls, kind: str) -> str:
        """A registered dataset kind: a typo fails when the suite is read, not when the run opens the data."""
        from gtcrn_bench.datasets import kinds

        known = kinds()
        if kind not in known:
            raise ValueError(f"unknown dataset kind '{kind}'; known: {', '.join(known)}")
        return kind

    @field_validator("published")
    @classmethod
    def _published_exists(cls, published: str | None) -> str | None:
        """A table of baselines/published.yaml: checked up front, since the report reads it only after every row."""
        from gtcrn_bench.baselines import PUBLISHED_FILE, published_tables

        known = list(published_tables())
        if published is not None and published not in known:
            listed = ", ".join(known) if known else f"none ({PUBLISHED_FILE} is not there)"
            raise ValueError(f"unknown '{published}'; known: {listed}")
        return published


class LatencyConfig(_Strict):
    """Per-frame timing of the suite's frame-wise runners."""

    frames: int = Field(1000, gt=0)
    warmup: int = Field(100, ge=0)


class Suite(_Strict):
    """A whole suite file."""

    name: str
    description: str = ""
    dataset: DatasetConfig
    runners: list[RunnerEntry] = Field(min_length=1)
    metrics: list[str] | None = Field(None, description="metric names; omitted = every registered metric")
    complexity: bool = True
    latency: LatencyConfig | None = None
    threads: int = Field(1, gt=0, description="torch/onnxruntime threads per worker process")

    @field_validator("runners")
    @classmethod
    def _runners_exist(cls, runners: list[RunnerEntry]) -> list[RunnerEntry]:
        known = registry.available()
        for entry in runners:
            if entry.name not in known:
                raise ValueError(f"unknown runner '{entry.name}'; available: {', '.join(known)}")
            allowed = {p.name for p in registry.params(known[entry.name])}
            extra = sorted(set(entry.params) - allowed)
            if extra:
                takes = ", ".join(sorted(allowed)) or "none"
                raise ValueError(f"runner '{entry.name}' has no parameter {', '.join(extra)}; it takes: {takes}")
        return runners

    @model_validator(mode="after")
    def _unique_keys(self) -> Suite:
        keys = [r.key for r in self.runners]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"runner entries {duplicates} appear twice: give them distinct 'label's")
        return self

    def dataset_root(self, override: Path | None = None) -> Path | None:
        """The dataset directory: ``override`` (``--data``), the suite's ``root`` expanded, or None (kind default)."""
        if override is not None:
            return override
        if self.dataset.root is None:
            return None
        from gtcrn_bench.store import home

        return Path(os.path.expandvars(self.dataset.root.replace("{store}", str(home())))).expanduser()


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in err["loc"]).lstrip(".")
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{path}: {loc or '(top level)'}: {message}")
    return "\n".join(lines)


def validate_suite(data: Any, source: Path) -> Suite:
    """A :class:`Suite` from parsed data; :class:`ConfigError` naming ``source`` and each bad key otherwise."""
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; every problem is reported with the file and key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the suite file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a suite file is a mapping with keys name, dataset, runners, metrics, ...")
    suite = validate_suite(data, path)
    _check_metrics(path, suite)
    _check_threads(path, suite)
    return suite


def _check_metrics(path: Path, suite: Suite) -> None:
    """Every named metric must exist and have its package installed (the error says which is missing)."""
    from gtcrn_bench import metrics

    if suite.metrics:
        try:
            metrics.require(suite.metrics)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _check_threads(path: Path, suite: Suite) -> None:
    """A runner's own thread parameter may not contradict the suite's ``threads``.

    Workers and the latency stage build every runner with the suite's count (see
    :func:`gtcrn_bench.latency.threads.with_threads`), so a different explicit
    value would otherwise fail only in the latency stage, after every row.
    """
    from gtcrn_bench.latency.threads import thread_param

    for i, entry in enumerate(suite.runners):
        name = thread_param(registry.get(entry.name))
        given = entry.params.get(name) if name is not None else None
        if given is not None and str(given) != str(suite.threads):
            raise ConfigError(
                f"{path}: runners[{i}].params.{name}: {given} contradicts threads: {suite.threads} "
                "(every runner runs with the suite's thread count); drop the parameter or change threads"
            )
