"""Suite files: YAML declaring the dataset, the runners with their parameters, the metrics and what else to measure.

A suite is named by a path or by the name of a packaged suite (``vctk`` is
``gtcrn_bench/data/suites/vctk.yaml``, linked as ``suites/`` in a clone). A
suite may ``include:`` another (a path relative to it, or a packaged name): the
included mapping is the base, the including file's keys replace its keys
(``dataset`` is merged key by key), and ``vars:`` values replace ``{name}`` in
the runners' parameters and labels and in the dataset root, so two suites that
differ only in a checkpoint share one runner list.

Validation errors name the file, the key and what is allowed, e.g.
``suites/x.yaml: runners[1].name: unknown runner 'gtcrn-ofline'; did you mean 'gtcrn-offline'? ...``.
"""

from __future__ import annotations

import os
import re
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gtcrn_bench.errors import ConfigError, did_you_mean
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
        from gtcrn_bench.published import PUBLISHED_FILE, published_tables

        known = list(published_tables())
        if published is not None and published not in known:
            listed = ", ".join(known) if known else f"none ({PUBLISHED_FILE} is not there)"
            raise ValueError(f"unknown '{published}'; known: {listed}")
        return published


class LatencyConfig(_Strict):
    """Per-frame timing of the suite's frame-wise runners."""

    frames: int = Field(1000, gt=0)
    warmup: int = Field(100, ge=0)


class ExecutorConfig(_Strict):
    """Where the pairs are evaluated: the local supervised pool (default) or a Dask cluster.

    ``scheduler`` (``tcp://`` or ``tls://HOST:PORT``) names an existing Dask
    cluster; omitted with ``kind: dask``, an embedded cluster is started on
    localhost. ``tls_ca``/``tls_cert``/``tls_key``: PEM files for a TLS cluster.
    """

    kind: Literal["local", "dask"] = "local"
    scheduler: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None


class ListenConfig(_Strict):
    """The listening section of report.html: which utterances get audio players and spectrograms.

    ``pick``: ``spread`` (evenly over the noisy input's score, the default),
    ``worst`` / ``best`` (lowest / highest mean score of the systems), or
    ``differ`` (where the two ``systems`` disagree most; default: the first
    GTCRN entry and the best other system). The score is PESQ-WB when the run
    has it, else the first metric it has.
    """

    count: int = Field(12, ge=0, description="utterances with players (0: no listening section)")
    pick: Literal["spread", "worst", "best", "differ"] = "spread"
    systems: list[str] | None = Field(None, min_length=2, max_length=2, description="the two entries 'differ' compares")
    format: Literal["opus", "flac"] = "opus"


class ReportConfig(_Strict):
    """What report.html holds beyond the tables."""

    listen: ListenConfig = ListenConfig()


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
    timeout_s: float = Field(
        600, gt=0, description="seconds one (runner, utterance) pair may take before its worker is killed"
    )
    executor: ExecutorConfig = Field(default_factory=ExecutorConfig)

    report: ReportConfig = ReportConfig()

    @field_validator("runners")
    @classmethod
    def _runners_exist(cls, runners: list[RunnerEntry]) -> list[RunnerEntry]:
        """Each name is a runner or an alias and each parameter one it takes; the error names the entry's index."""
        problems = []
        for i, entry in enumerate(runners):
            try:
                registry.check_params(entry.name, entry.params)
            except ConfigError as exc:
                key = "name" if str(exc).startswith(("unknown runner", f"runner '{entry.name}' is not")) else "params"
                problems.append(f"[{i}].{key}: {exc}")
        if problems:
            raise ValueError("\n".join(problems))
        return runners

    @model_validator(mode="after")
    def _unique_keys(self) -> Suite:
        keys = [r.key for r in self.runners]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"runner entries {duplicates} appear twice: give them distinct 'label's")
        return self

    @model_validator(mode="after")
    def _listen_systems_exist(self) -> Suite:
        """report.listen.systems name entries of this suite (by key), so 'differ' knows what to compare."""
        keys = [r.key for r in self.runners]
        unknown = [k for k in self.report.listen.systems or [] if k not in keys]
        if unknown:
            raise ValueError(f"report.listen.systems: {unknown} are not runner entries of this suite ({keys})")
        return self

    @property
    def reference_key(self) -> str | None:
        """The key of the entry whose runner is the reference row (the unprocessed input), if the suite has one."""
        return next((e.key for e in self.runners if registry.get(e.name).reference_row), None)

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
        for line in message.splitlines():  # a validator may report several entries, each "[i].key: ..."
            sep = "" if line.startswith("[") else ": "
            lines.append(f"{path}: {loc or '(top level)'}{sep}{line}")
    return "\n".join(lines)


def validate_suite(data: Any, source: Path) -> Suite:
    """A :class:`Suite` from parsed data; :class:`ConfigError` naming ``source`` and each bad key otherwise."""
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


#: the packaged suites (``suites/`` in a clone links here); names starting with ``_`` are bases to include
PACKAGED_SUITES = Path(str(files("gtcrn_bench") / "data" / "suites"))
_VAR = re.compile(r"\{(\w+)\}")


def packaged_suites() -> dict[str, Path]:
    """The suites shipped with the package, by name (bases meant only for ``include:`` left out)."""
    return {p.stem: p for p in sorted(PACKAGED_SUITES.glob("*.yaml")) if not p.stem.startswith("_")}


def resolve_suite(name_or_path: str | Path) -> Path:
    """A suite file: an existing path as given, else the packaged suite of that name (``vctk``, ``dns3``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    packaged = {**packaged_suites(), **{f"{n}.yaml": p for n, p in packaged_suites().items()}}
    if str(name_or_path) in packaged:
        return packaged[str(name_or_path)]
    names = ", ".join(packaged_suites())
    hint = did_you_mean(path.stem, packaged_suites())
    raise ConfigError(
        f"{name_or_path}: no such suite file, and no packaged suite of that name{hint} (packaged: {names})"
    )


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the suite file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a suite file is a mapping with keys name, dataset, runners, metrics, ...")
    return data


def _included(path: Path, data: dict[str, Any], seen: tuple[Path, ...]) -> dict[str, Any]:
    """``data`` on top of the suite it includes (recursively); a cycle is an error naming the files."""
    target = data.pop("include", None)
    if target is None:
        return data
    local = path.parent / str(target)
    packaged = PACKAGED_SUITES / (str(target) if str(target).endswith(".yaml") else f"{target}.yaml")
    base_path = local if local.is_file() else packaged
    if not base_path.is_file():
        raise ConfigError(f"{path}: include: no file {local} and no packaged suite '{target}'")
    if base_path.resolve() in seen:
        raise ConfigError(f"{path}: include: {base_path} includes itself (through {', '.join(map(str, seen))})")
    base = _included(base_path, _read_mapping(base_path), (*seen, base_path.resolve()))
    merged = {**base, **data}
    for key in ("dataset", "vars"):  # merged key by key: a suite overrides one dataset key, one variable
        if isinstance(base.get(key), dict) and isinstance(data.get(key), dict):
            merged[key] = {**base[key], **data[key]}
    return merged


def _substitute(value: Any, variables: dict[str, Any]) -> Any:
    """``{name}`` in strings replaced by ``variables[name]`` (other braces, e.g. ``{store}``, left alone)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: str(variables[m[1]]) if m[1] in variables else m[0], value)
    if isinstance(value, dict):
        return {k: _substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables) for v in value]
    return value


def suite_data(path: Path) -> dict[str, Any]:
    """The suite file's mapping with its includes merged and its ``vars`` substituted (what is validated)."""
    data = _included(path, _read_mapping(path), (path.resolve(),))
    variables = data.pop("vars", None) or {}
    if not isinstance(variables, dict):
        raise ConfigError(f"{path}: vars: a mapping of names to values, e.g. {{checkpoint: vctk}}")
    return _substitute(data, variables)


def load_suite(name_or_path: str | Path) -> Suite:
    """Read, merge and validate a suite (a path or a packaged name); every problem names the file and key."""
    path = resolve_suite(name_or_path)
    suite = validate_suite(suite_data(path), path)
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

    Workers and the latency stage build every runner with the suite's count
    (:func:`gtcrn_bench.runners.registry.build`), so a different explicit value
    would otherwise fail only in the latency stage, after every row.
    """
    for i, entry in enumerate(suite.runners):
        name = registry.get(entry.name).thread_param
        given = entry.params.get(name) if name is not None else None
        if given is not None and str(given) != str(suite.threads):
            raise ConfigError(
                f"{path}: runners[{i}].params.{name}: {given} contradicts threads: {suite.threads} "
                "(every runner runs with the suite's thread count); drop the parameter or change threads"
            )
