"""The runner registry: names -> runner classes, with typed parameters for suites and the CLI.

Built-in runners register on import of their modules; third-party packages add
theirs through the ``gtcrn_bench.runners`` entry-point group (the entry point
names a :class:`Runner` subclass or a module that registers on import).
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from gtcrn_bench.errors import ConfigError
from gtcrn_bench.runners.base import Runner

ENTRY_POINT_GROUP = "gtcrn_bench.runners"
BUILTIN_MODULES = (
    "gtcrn_bench.runners.basic",
    "gtcrn_bench.runners.gtcrn",
    "gtcrn_bench.runners.onnx",
    *(
        f"gtcrn_bench.runners.baselines.{name}"
        for name in ("rnnoise", "deepfilternet", "dtln", "speex", "spectral_gate", "sherpa")
    ),
)

_RUNNERS: dict[str, type[Runner]] = {}
_UNAVAILABLE: dict[str, str] = {}
_loaded = False


@dataclass(frozen=True)
class Param:
    """One constructor parameter of a runner."""

    name: str
    annotation: Any
    default: Any
    required: bool

    @property
    def type_name(self) -> str:
        return getattr(self.annotation, "__name__", str(self.annotation)).replace("typing.", "")


def register(cls: type[Runner]) -> type[Runner]:
    """Class decorator: make a runner available under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    existing = _RUNNERS.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"runner name '{cls.name}' is taken by {existing.__module__}.{existing.__qualname__}")
    _RUNNERS[cls.name] = cls
    return cls


def _load() -> None:
    """Import built-in runner modules and entry-point plugins once; record what fails and why."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            _UNAVAILABLE[module] = f"missing dependency: {exc.name or exc}"
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, type) and issubclass(obj, Runner):
                register(obj)
        except Exception as exc:  # a broken plugin (or one whose name is taken) must not break the harness
            _UNAVAILABLE[ep.name] = f"plugin failed to load: {exc}"


def available() -> dict[str, type[Runner]]:
    """Every registered runner class by name."""
    _load()
    return dict(sorted(_RUNNERS.items()))


def unavailable() -> dict[str, str]:
    """Runner modules or plugins that could not be loaded, with the reason."""
    _load()
    return dict(_UNAVAILABLE)


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


def get(name: str) -> type[Runner]:
    """The runner class registered as ``name``; the error lists what exists."""
    runners = available()
    if name not in runners:
        hint = f"; not loaded: {unavailable()}" if unavailable() else ""
        raise ConfigError(f"unknown runner '{name}'; available: {', '.join(runners)}{hint}")
    return runners[name]


def create(name: str, **kwargs: Any) -> Runner:
    """Build runner ``name`` with checked, type-converted parameters."""
    cls = get(name)
    known = {p.name: p for p in params(cls)}
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise ConfigError(
            f"runner '{name}' has no parameter {', '.join(unknown)}; it takes: {', '.join(known) or 'none'}"
        )
    missing = [p.name for p in known.values() if p.required and p.name not in kwargs]
    if missing:
        raise ConfigError(f"runner '{name}' needs {', '.join(missing)}")
    return cls(**{k: _coerce(name, known[k], v) for k, v in kwargs.items()})


def parse_params(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` from the command line -> a dict (values converted later by :func:`create`)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"runner parameter '{item}' is not of the form key=value")
        out[key.strip().replace("-", "_")] = value.strip()
    return out
