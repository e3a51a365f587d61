"""The package as users install it: a wheel, non-editable, in a fresh virtualenv, run outside the clone.

Published tables and the shipped suites are package data, so ``gtcrn-bench run vctk`` resolves the suite by
name and shows the published rows without the repository around it.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pandas as pd
import pytest

from conftest import MINI, ROOT


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=1200, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project's wheel installed (not editable); its dependencies come from this
    environment's site-packages through a path file, so no download and no second torch."""
    tmp = tmp_path_factory.mktemp("wheel")
    done = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp), str(ROOT)])
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp.glob("gtcrn_bench-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    purelib = Path(
        run(
            [str(env_dir / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
        ).stdout.strip()
    )
    # plain directory lines: this environment's packages, but not its editable gtcrn_bench (a finder in a .pth file
    # of its own, which a path line does not run)
    (purelib / "dependencies.pth").write_text(
        "\n".join([sysconfig.get_path("purelib"), *site.getsitepackages()]) + "\n"
    )
    done = run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)])
    assert done.returncode == 0, done.stderr
    return env_dir


def test_the_installed_package_is_the_wheel_not_the_clone(installed: Path, tmp_path: Path) -> None:
    code = "import gtcrn_bench, gtcrn_bench.published as p; print(gtcrn_bench.__file__); print(p.PUBLISHED_FILE)"
    done = run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module, published = done.stdout.split()
    assert str(installed) in module and not module.startswith(str(ROOT))
    assert Path(published).is_file() and str(installed) in published


def test_the_installed_wheel_runs_a_packaged_suite_by_name(installed: Path, tmp_path: Path, dtln_wheel: Path) -> None:
    """`gtcrn-bench run vctk --data <mini set> --limit 2` from an unrelated folder, with the test model store
    (latency skipped: what is tested here is the packaging, and latency has its own tests)."""
    out = tmp_path / "out"
    args = [str(installed / "bin" / "gtcrn-bench"), "run", "vctk", "--data", str(MINI), "--limit", "2", "--no-latency"]
    done = run([*args, "-j", "2", "--out", str(out), "--strict"], cwd=tmp_path, env=dict(os.environ))
    assert done.returncode == 0, done.stdout + done.stderr
    per_utt = pd.read_csv(out / "per_utterance.csv")
    assert len(per_utt) == 2 * 11 and per_utt["error"].isna().all()  # the packaged vctk suite's 11 entries
    assert "published" in (out / "report.md").read_text()  # the published tables came from package data
