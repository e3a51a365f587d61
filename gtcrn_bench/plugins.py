"""One registry mechanism for runners, metrics and dataset kinds.

Each kind of plug-in has a :class:`Registry`: the built-in modules are listed
explicitly and register their items on import; third-party packages add theirs
through an entry-point group (``gtcrn_bench.runners``, ``gtcrn_bench.metrics``,
``gtcrn_bench.datasets``). The entry point names an object that the registry's
``accept`` function turns into (name, item) pairs: a runner class, a metric
record (or a list of them), a dataset factory. Whatever fails to load (a
built-in whose optional package is missing, a broken plugin, a name that is
taken) is recorded with its reason and listed; everything else works.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from gtcrn_bench.errors import ConfigError, did_you_mean

T = TypeVar("T")

#: turns what an entry point loads into the (name, item) pairs to register; raises TypeError for anything else
Accept = Callable[[str, object], Iterable[tuple[str, T]]]


class Registry(Generic[T]):
    """Names -> items of one kind, filled from built-in modules and an entry-point group on first use."""

    def __init__(self, kind: str, group: str, builtins: tuple[str, ...], accept: Accept[T]) -> None:
        self.kind = kind
        self.group = group
        self.builtins = builtins
        self._accept = accept
        self._items: dict[str, T] = {}
        self._unavailable: dict[str, str] = {}
        self._loaded = False

    def register(self, name: str, item: T) -> T:
        """Make ``item`` available as ``name``; a name taken by another item is an error (never silently replaced)."""
        existing = self._items.get(name)
        if existing is not None and existing is not item and existing != item:
            raise ValueError(f"{self.kind} name '{name}' is taken by {_describe(existing)}")
        self._items[name] = item
        return item

    def load(self) -> None:
        """Import the built-in modules and the entry-point plugins once; record what fails and why."""
        if self._loaded:
            return
        self._loaded = True
        for module in self.builtins:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                self._unavailable[module] = f"missing dependency: {exc.name or exc}"
        for ep in entry_points(group=self.group):
            try:
                for name, item in self._accept(ep.name, ep.load()):
                    self.register(name, item)
            except Exception as exc:  # a broken plugin (or one whose name is taken) must not break the harness
                self._unavailable[ep.name] = f"plugin failed to load: {exc}"

    def fresh_copy(self) -> Registry[T]:
        """A registry holding what this one holds now, not yet loaded: plugins load again (for tests that add some
        without changing the process-wide registry)."""
        self.load()
        copy = Registry(self.kind, self.group, self.builtins, self._accept)
        copy._items = dict(self._items)
        return copy

    def registered(self) -> dict[str, T]:
        """What is registered so far, without loading anything (for checks made while registering)."""
        return dict(self._items)

    def items(self) -> dict[str, T]:
        """Every registered item by name, in registration order (built-ins first, in their listed order)."""
        self.load()
        return dict(self._items)

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self.items())

    def unavailable(self) -> dict[str, str]:
        """Built-in modules or plugins that could not be loaded, with the reason."""
        self.load()
        return dict(self._unavailable)

    def get(self, name: str) -> T:
        """The item registered as ``name``; the error lists what exists and suggests a near miss."""
        items = self.items()
        if name not in items:
            not_loaded = f"; not loaded: {self._unavailable}" if self._unavailable else ""
            raise ConfigError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, items)} (available: {', '.join(items)}){not_loaded}"
            )
        return items[name]


def _describe(item: object) -> str:
    """``module.Class`` for classes and functions, else the item's repr."""
    if isinstance(item, type) or callable(item):
        return f"{item.__module__}.{item.__qualname__}"  # type: ignore[attr-defined]
    return repr(item)
