"""What a latency figure depends on besides the model: CPU, its frequency policy, load, library versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from gtcrn_bench.provenance import cpu_info, package_versions, thread_settings

CPUFREQ = Path("/sys/devices/system/cpu/cpu0/cpufreq")
NO_CPUFREQ = "unavailable: no cpufreq interface (virtual machine or container); the host sets the frequency"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def frequency_policy() -> dict[str, Any]:
    """The governor and frequency limits of CPU 0 (kHz as the kernel reports them), or why they are unknown."""
    if not CPUFREQ.is_dir():
        return {"governor": NO_CPUFREQ}
    names = ("scaling_governor", "scaling_driver", "scaling_min_freq", "scaling_max_freq", "scaling_cur_freq")
    policy = {name.removeprefix("scaling_"): _read(CPUFREQ / name) for name in names}
    boost = _read(Path("/sys/devices/system/cpu/cpufreq/boost"))
    if boost is not None:
        policy["boost"] = boost
    return policy


def reported_mhz() -> float | None:
    """The first ``cpu MHz`` line of /proc/cpuinfo (on a VM: what the hypervisor reports)."""
    text = _read(Path("/proc/cpuinfo")) or ""
    for line in text.splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":", 1)[1])
    return None


def conditions() -> dict[str, Any]:
    """CPU model, frequency policy, cores this process may use, load averages, threads and versions."""
    versions = package_versions()
    return {
        "cpu": {**cpu_info(), "reported_mhz": reported_mhz(), "frequency_policy": frequency_policy()},
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1_5_15": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "threads": thread_settings(),
        "python": platform.python_version(),
        "versions": {k: versions.get(k) for k in ("torch", "onnxruntime", "numpy", "gtcrn-bench")},
    }
