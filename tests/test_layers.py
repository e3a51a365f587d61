"""The import layers (pyproject.toml's import-linter contract) hold, and an upward import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (dev extra)")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the package as it is under ``tree`` (no cache, so an edited copy is read afresh)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layers_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """runners importing complexity (the upward import this contract replaced) fails, naming both modules."""
    shutil.copytree(ROOT / "gtcrn_bench", tmp_path / "gtcrn_bench", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    runner = tmp_path / "gtcrn_bench" / "runners" / "basic.py"
    runner.write_text(runner.read_text() + "\nimport gtcrn_bench.complexity.measurement  # upward, on purpose\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout and "gtcrn_bench.runners.basic -> gtcrn_bench.complexity.measurement" in done.stdout
