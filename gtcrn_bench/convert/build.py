"""Making a target's artefact from a checkpoint (cached in the store), with a sidecar saying how it was made."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gtcrn_bench
from gtcrn_bench import models as models_package
from gtcrn_bench.convert import targets as targets_module
from gtcrn_bench.convert.calibration import CalibrationSet
from gtcrn_bench.convert.sessions import SESSIONS, Session
from gtcrn_bench.convert.targets import BuildInputs, Built, Target, copy_files, get_target
from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ConfigError, GtcrnBenchError
from gtcrn_bench.files import write_json
from gtcrn_bench.onnx.export import cached_export
from gtcrn_bench.store import home, resolve


class ConversionError(GtcrnBenchError):
    """A converter failed on GTCRN; the message is the converter's own (first line), kept for the table."""


@dataclass(frozen=True)
class Artefact:
    """A built target: the file its runtime loads, all its files, and the sidecar's content."""

    target: Target
    path: Path
    files: tuple[Path, ...]
    info: dict[str, Any]

    @property
    def size_kb(self) -> float:
        return sum(f.stat().st_size for f in self.files) / 1024

    def open(self, threads: int = 1) -> Session:
        """A frame session on this artefact in the target's runtime; :class:`ConversionError` if the runtime
        refuses the artefact (a converter can write a model its own runtime will not run)."""
        try:
            return SESSIONS[self.target.runtime](self.path, threads)
        except Exception as exc:  # each runtime raises its own types (onnxruntime's derive from Exception only)
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ConversionError(
                f"{self.target.name}: {self.target.runtime} refused the artefact: {first[:300]}"
            ) from exc


def _cache_dir(target: Target, checkpoint_sha: str, calibration: CalibrationSet | None) -> Path:
    """Keyed by checkpoint, calibration set, the source of the recipes and of the model forms they convert (a
    change to either rebuilds: ncnn and LiteRT trace forms from gtcrn_bench/models) and package versions."""
    calib = f"-cal{calibration.sha256[:12]}" if target.calibrated and calibration is not None else ""
    recipe = hashlib.sha256(Path(targets_module.__file__).read_bytes())
    for source in sorted(Path(models_package.__file__).parent.glob("*.py")):
        recipe.update(source.read_bytes())
    recipe.update(target.runtime_version().encode())
    key = f"{target.name}-{checkpoint_sha[:16]}{calib}-r{recipe.hexdigest()[:10]}-gtcrn_bench{gtcrn_bench.__version__}"
    return home() / "models" / "converted" / key


def _run_build(target: Target, inputs: BuildInputs) -> Built:
    """The converter's result, from a spawned process of its own if the target says so (``Target.isolated``)."""
    if not target.isolated:
        return target.build(inputs)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(target.build, inputs).result()  # the converter's exception is re-raised here


def build_artefact(target_name: str, checkpoint: str | Path, calibration: CalibrationSet | None = None) -> Artefact:
    """The artefact of ``target_name`` for ``checkpoint``, built once per checkpoint (and calibration set).

    Built in a temporary folder and moved into place with its sidecar, so an
    interrupted build never leaves half an artefact. A converter's failure is a
    :class:`ConversionError` carrying its message.
    """
    target = get_target(target_name)
    missing = target.missing()
    if missing:
        raise ConfigError(
            f"target '{target.name}' needs {', '.join(missing)} (pip install 'gtcrn-bench[{target.extra}]')"
        )
    if target.calibrated and calibration is None:
        raise ConfigError(f"target '{target.name}' is calibrated: give calibration audio")
    checkpoint_path = resolve(checkpoint)
    checkpoint_sha = sha256_file(checkpoint_path)
    dest = _cache_dir(target, checkpoint_sha, calibration)
    sidecar = dest / "sidecar.json"
    if sidecar.is_file():
        info = json.loads(sidecar.read_text())
        return Artefact(target, dest / info["main"], tuple(dest / f for f in info["files"]), info)
    base = build_artefact(target.base, checkpoint) if target.base is not None else None
    onnx_path = cached_export(checkpoint)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        try:
            inputs = BuildInputs(onnx_path, Path(tmp), calibration, checkpoint_path, base.path if base else None)
            built = _run_build(target, inputs)
        except (ConfigError, ImportError):
            raise
        except Exception as exc:  # a converter's own failure on this graph: reported in the table, not a crash
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ConversionError(f"{target.name}: {type(exc).__name__}: {first[:300]}") from exc
        staged = Path(tmp) / "artefact"
        files = copy_files(built, staged)
        info = {
            "target": target.name,
            "main": built.main.name,
            "files": [f.name for f in files],
            "sha256": {f.name: sha256_file(f) for f in files},
            "checkpoint": {"name": str(checkpoint), "sha256": checkpoint_sha},
            "float_onnx": {"path": str(onnx_path), "sha256": sha256_file(onnx_path)},
            "made_from": {"target": base.target.name, "sha256": base.info["sha256"]} if base else None,
            "runtime": target.runtime_version(),
            "notes": built.notes,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(staged / "sidecar.json", info)
        if not dest.exists():
            staged.replace(dest)
    return Artefact(target, dest / info["main"], tuple(dest / f for f in info["files"]), info)
