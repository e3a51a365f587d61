"""Loading GTCRN checkpoints with errors that name the file and what was expected."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from gtcrn_bench.errors import CheckpointError
from gtcrn_bench.models.gtcrn import GTCRN
from gtcrn_bench.store import resolve


def _load_reason(exc: Exception) -> str:
    """torch.load's reason in a few words.

    Its safe loader's message is a paragraph that advises ``weights_only=False``,
    which would be wrong advice for a file that is not a checkpoint: that case
    says only what failed.
    """
    text = str(exc).strip()
    if not text or "weights_only" in text:
        return f"{type(exc).__name__} from torch.load's tensor-only loader"
    return text.splitlines()[0]


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The ``"model"`` dict of a published checkpoint, or a bare state dict."""
    try:
        # weights_only: the published files hold only tensors and numbers, so the safe loader suffices.
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise CheckpointError(
            f"{path}: not a readable PyTorch checkpoint; expected a torch.save'd GTCRN checkpoint "
            f"(a dict {{'model': state_dict}}, as published) ({_load_reason(exc)})"
        ) from exc
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a dict {{'model': state_dict}} or a state dict of tensors")
    return obj


def _architecture_problems(model: GTCRN, state: dict[str, torch.Tensor]) -> list[str]:
    """Missing, unexpected and mis-shaped tensors compared with the GTCRN state dict."""
    expected = model.state_dict()
    problems = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        problems.append(f"{len(missing)} missing tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    for key, tensor in expected.items():
        if key in state and state[key].shape != tensor.shape:
            problems.append(f"{key} has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}")
    return problems


def load_gtcrn(checkpoint: str | Path) -> GTCRN:
    """An offline GTCRN in eval mode with the weights of ``checkpoint`` (alias or path)."""
    path = resolve(checkpoint)
    state = _read_state_dict(path)
    model = GTCRN()
    problems = _architecture_problems(model, state)
    if problems:
        raise CheckpointError(f"{path}: not a GTCRN checkpoint: " + "; ".join(problems[:4]))
    model.load_state_dict(state, strict=True)
    return model.eval()
