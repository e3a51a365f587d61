"""Counting a PyTorch model's MACs by running it once: module hooks plus a watch on tensor code.

Modules with a rule (convolutions, Linear, RNNs, norms, activations, see
:mod:`.module_rules`) are counted by forward hooks from the shapes of each
call. Products written as tensor code outside modules (a mask times the
spectrum, an attention gain, ``x ** 2``) are seen through a
:class:`~torch.overrides.TorchFunctionMode`; they count under conventions that
count them. A hand-written counter rather than ptflops or fvcore, because
neither counts what the ``exact`` convention needs (fvcore skips GRUs; ptflops
skips tensor code and counts transposed convolutions by their output).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from gtcrn_bench.complexity.conventions import Convention
from gtcrn_bench.complexity.module_rules import RULES, Rule, functional_exact, rule_for

_TORCH_DIR = str(Path(torch.__file__).parent)


@dataclass
class LayerCount:
    """MACs of one module or graph node (or of the tensor code of one module), summed over its calls."""

    name: str  # module path ("" is the model itself) or ONNX node name
    op: str  # module class, ONNX op type, or e.g. "mul in apply_mask()" for tensor code
    macs: int = 0
    calls: int = 0
    params: int = 0


@dataclass
class OpCount:
    """The result of one count: total MACs, per-layer rows in call order, and what could not be counted."""

    macs: int
    layers: list[LayerCount]
    uncounted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return args if args else tuple(kwargs.values())


class _Tally(TorchFunctionMode):
    """Accumulates rows while the model runs; hooks are attached by :meth:`attached`."""

    def __init__(self, model: nn.Module, rules: dict[type[nn.Module], Rule], functional: bool) -> None:
        super().__init__()
        self.rules = rules
        self.functional = functional
        self.paths = {module: name for name, module in model.named_modules()}
        self.rows: dict[tuple[str, str], LayerCount] = {}
        self.uncounted: dict[str, None] = {}
        self.depth = 0  # > 0 while a module with a rule runs: its inner tensor code is part of its rule
        self.tensor_code_macs = 0
        self.started: dict[nn.Module, list[int]] = {}  # tensor_code_macs when each unruled module call began

    def add(self, name: str, op: str, macs: int, params: int = 0) -> None:
        row = self.rows.setdefault((name, op), LayerCount(name, op, params=params))
        row.macs += macs
        row.calls += 1

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.functional and self.depth == 0:
            name = getattr(func, "__name__", "")
            macs = functional_exact(name, args, kwargs, out)
            if macs is None:
                owner, where = self._issuer()
                self.uncounted[f"{name} in {where}() of {owner or '(model)'} (tensor code)"] = None
            elif macs:
                owner, where = self._issuer()
                self.add(owner, f"{name.strip('_')} in {where}()", macs)
                self.tensor_code_macs += macs
        return out

    def _issuer(self) -> tuple[str, str]:
        """The innermost module whose code issued the current tensor op, and the issuing function of user code.

        Tensor code is not a module call, so the Python stack is the only place
        that says where it came from; it makes the per-layer rows readable.
        """
        frame = sys._getframe(2)
        where = ""
        while frame is not None:
            if not where and not frame.f_code.co_filename.startswith(_TORCH_DIR):
                where = frame.f_code.co_name
            owner = frame.f_locals.get("self")
            if isinstance(owner, nn.Module) and owner in self.paths:
                return self.paths[owner], where or frame.f_code.co_name
            frame = frame.f_back
        return "", where

    def _enter(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.depth += 1

    def _leave(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            rule = rule_for(self.rules, module)
            params = sum(p.numel() for p in module.parameters())
            self.add(self.paths[module], type(module).__name__, rule(module, _inputs(args, kwargs), output), params)

    def _unruled_enter(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.started.setdefault(module, []).append(self.tensor_code_macs)

    def _unruled_leave(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        """A module with weights of its own, no rule, and no products seen in its tensor code is uncounted."""
        if self.tensor_code_macs == self.started[module].pop() and self.depth == 0:
            self.uncounted[f"{self.paths[module] or '(model)'} ({type(module).__name__})"] = None

    @contextmanager
    def attached(self) -> Iterator[_Tally]:
        handles = []
        for module in self.paths:
            if rule_for(self.rules, module) is not None:
                handles.append(module.register_forward_pre_hook(self._enter, with_kwargs=True))
                handles.append(module.register_forward_hook(self._leave, with_kwargs=True))
            elif any(True for _ in module.parameters(recurse=False)):
                handles.append(module.register_forward_pre_hook(self._unruled_enter, with_kwargs=True))
                handles.append(module.register_forward_hook(self._unruled_leave, with_kwargs=True))
        try:
            with self:
                yield self
        finally:
            for handle in handles:
                handle.remove()


def count_module(model: nn.Module, inputs: tuple[Any, ...], convention: Convention) -> OpCount:
    """Run ``model(*inputs)`` once without gradients and count its MACs under ``convention``."""
    tally = _Tally(model, RULES[convention.name], convention.counts_functional)
    with torch.no_grad(), tally.attached():
        model(*inputs)
    layers = list(tally.rows.values())
    return OpCount(sum(row.macs for row in layers), layers, list(tally.uncounted))
