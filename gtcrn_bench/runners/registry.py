"""The runner registry and the one way to build a runner: name or alias + parameters + threads -> runner.

Built-in runners are listed in :data:`BUILTIN_MODULES` and register on import;
third-party packages add theirs through the ``gtcrn_bench.runners`` entry-point
group (the entry point names a :class:`Runner` subclass). Runner modules import
their heavy libraries (torch, onnxruntime, the baselines' packages) when a
runner is built, not when the module is imported, so listing names and
parameters stays fast; a runner whose distributions (:attr:`Runner.packages`)
are not installed is listed as unavailable with the reason.

Every command and the suite build runners through :func:`build`, so every alias
works everywhere and the thread count reaches every runner the same way.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from typing import Any

from gtcrn_bench.errors import ConfigError, did_you_mean
from gtcrn_bench.plugins import Registry
from gtcrn_bench.runners.base import Runner

BUILTIN_MODULES = (
    "gtcrn_bench.runners.basic",
    "gtcrn_bench.runners.gtcrn",
    "gtcrn_bench.runners.onnx",
    "gtcrn_bench.runners.streaming_onnx",
    *(
        f"gtcrn_bench.runners.baselines.{name}"
        for name in ("rnnoise", "deepfilternet", "dtln", "speex", "spectral_gate", "sherpa")
    ),
)


def _accept(entry_name: str, obj: object) -> list[tuple[str, type[Runner]]]:
    """An entry point of ``gtcrn_bench.runners`` names a Runner subclass, registered under its ``name``."""
    if not (isinstance(obj, type) and issubclass(obj, Runner)):
        raise TypeError(f"entry point '{entry_name}' names {obj!r}, not a gtcrn_bench Runner subclass")
    return [(_checked_name(obj), obj)]


RUNNERS: Registry[type[Runner]] = Registry("runner", "gtcrn_bench.runners", BUILTIN_MODULES, _accept)


def _checked_name(cls: type[Runner]) -> str:
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    return cls.name


def register(cls: type[Runner]) -> type[Runner]:
    """Class decorator: make a runner available under ``cls.name`` (and its :attr:`~Runner.aliases`)."""
    return RUNNERS.register(_checked_name(cls), cls)


@dataclass(frozen=True)
class Param:
    """One constructor parameter of a runner."""

    name: str
    annotation: Any
    default: Any
    required: bool

    @property
    def type_name(self) -> str:
        text = self.annotation.__name__ if isinstance(self.annotation, type) else str(self.annotation)
        return text.replace("typing.", "")


def missing_packages(cls: type[Runner]) -> list[str]:
    """The distributions of :attr:`Runner.packages` that are not installed (looked up, never imported)."""
    missing = []
    for name in cls.packages:
        try:
            distribution(name)
        except PackageNotFoundError:
            missing.append(name)
    return missing


def available() -> dict[str, type[Runner]]:
    """Every registered runner class whose packages are installed, by name, sorted."""
    return {n: c for n, c in sorted(RUNNERS.items().items()) if not missing_packages(c)}


def unavailable() -> dict[str, str]:
    """Runners that cannot run here (a package missing) and plugins that failed to load, with the reason."""
    out = RUNNERS.unavailable()
    for name, cls in RUNNERS.items().items():
        missing = missing_packages(cls)
        if missing:
            out[name] = f"needs {', '.join(missing)} (pip install 'gtcrn-bench[baselines]')"
    return out


def aliases() -> dict[str, tuple[str, dict[str, Any]]]:
    """Alias -> (runner name, fixed parameters), from every available runner's :attr:`~Runner.aliases`."""
    return {alias: (name, dict(fixed)) for name, cls in available().items() for alias, fixed in cls.aliases.items()}


def resolve(name: str) -> tuple[type[Runner], dict[str, Any]]:
    """The runner class behind a name or alias, and the parameters the alias fixes."""
    runners = available()
    if name in runners:
        return runners[name], {}
    known = aliases()
    if name in known:
        runner_name, fixed = known[name]
        return runners[runner_name], fixed
    reason = unavailable().get(name)
    if reason is not None:
        raise ConfigError(f"runner '{name}' is not available here: {reason}")
    names = [*runners, *known]
    raise ConfigError(f"unknown runner '{name}'{did_you_mean(name, names)} (available: {', '.join(names)})")


def get(name: str) -> type[Runner]:
    """The runner class registered as ``name`` (or behind alias ``name``)."""
    return resolve(name)[0]


def params(cls: type[Runner]) -> list[Param]:
    """The parameters a runner class takes (its constructor's keyword arguments)."""
    init = inspect.unwrap(cls.__init__)
    hints = typing.get_type_hints(init)
    out = []
    for p in list(inspect.signature(init).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        required = p.default is inspect.Parameter.empty
        out.append(Param(p.name, hints.get(p.name, str), None if required else p.default, required))
    return out


def check_params(name: str, given: dict[str, Any]) -> None:
    """:class:`ConfigError` for parameters runner (or alias) ``name`` does not take, or required ones missing."""
    cls, fixed = resolve(name)
    known = {p.name: p for p in params(cls)}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(
            f"runner '{name}' has no parameter {', '.join(unknown)}; it takes: {', '.join(known) or 'none'}"
        )
    clash = sorted(k for k in given if k in fixed and str(given[k]) != str(fixed[k]))
    if clash:
        raise ConfigError(f"runner '{name}' fixes {', '.join(f'{k}={fixed[k]}' for k in clash)}; drop the parameter")
    missing = [p.name for p in known.values() if p.required and p.name not in {**fixed, **given}]
    if missing:
        raise ConfigError(f"runner '{name}' needs {', '.join(missing)}")


def with_threads(cls: type[Runner], params: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """``params`` with the runner's :attr:`~Runner.thread_param` set to ``threads``; a different value is an error."""
    name = cls.thread_param
    if threads is None or name is None:
        return dict(params)
    given = params.get(name)
    if given is not None and str(given) != str(threads):
        raise ConfigError(f"runner '{cls.name}': {name}={given} contradicts threads {threads}; give one of them")
    return {**params, name: threads}


def _coerce(runner: str, param: Param, value: Any) -> Any:
    """Convert a CLI string (or YAML scalar) to the parameter's annotated type."""
    if not isinstance(value, str):
        return value
    kinds = typing.get_args(param.annotation) if isinstance(param.annotation, types.UnionType) else ()
    kinds = [k for k in kinds if k is not type(None)] or [param.annotation]
    if value.lower() in ("none", "null") and type(None) in typing.get_args(param.annotation):
        return None
    for kind in kinds:
        try:
            if kind is bool:
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if kind in (int, float, str):
                return kind(value)
        except ValueError:
            continue
    raise ConfigError(f"runner '{runner}': parameter {param.name}={value!r} is not a valid {param.type_name}")


def build(name: str, params_: dict[str, Any] | None = None, threads: int | None = None) -> Runner:
    """Runner ``name`` (a runner or an alias) with checked, type-converted parameters.

    ``threads`` (when given) goes to the runner's :attr:`~Runner.thread_param`;
    an explicit, different value of that parameter is an error. This is the
    only place a runner is constructed: suites, ``enhance``, ``latency``,
    ``complexity`` and ``verify`` all come here.
    """
    given = dict(params_ or {})
    check_params(name, given)
    cls, fixed = resolve(name)
    known = {p.name: p for p in params(cls)}
    values = with_threads(cls, {**fixed, **given}, threads)
    return cls(**{k: _coerce(name, known[k], v) for k, v in values.items()})


def create(name: str, **kwargs: Any) -> Runner:
    """``build(name, kwargs)``: a runner with its own default threads (for tests and scripts)."""
    return build(name, kwargs)


def parse_params(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` from the command line -> a dict (values converted later by :func:`build`)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"runner parameter '{item}' is not of the form key=value")
        out[key.strip().replace("-", "_")] = value.strip()
    return out


@dataclass(frozen=True)
class RunnerSpec:
    """A runner written ``NAME`` or ``NAME:key=value,key=value`` (as ``latency --compare`` takes it).

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
        params = parse_params(rest.split(",")) if sep else {}
        return cls(label, name.strip(), params)

    def build(self, threads: int | None, extra: dict[str, str] | None = None) -> Runner:
        """The runner, with ``extra`` parameters on top of the written ones."""
        return build(self.name, {**self.params, **(extra or {})}, threads)
