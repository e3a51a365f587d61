"""Runners that fail the way native code does (segfault, abort, endless loop, memory blow-up), for the isolation tests.

Each behaves like a plain half-gain runner on short inputs and fails on inputs
longer than ``longer_than_s`` seconds, so a test knows which pairs must fail.
A separate module (not a test file) so that worker processes, which import the
modules defining a suite's runners, load only this.
"""

from __future__ import annotations

import os
import resource
import signal

import numpy as np

from gtcrn_bench.audio import SAMPLE_RATE
from gtcrn_bench.runners.base import Runner
from gtcrn_bench.runners.registry import register


class FaultyRunner(Runner):
    """Half gain, or the subclass's fault on inputs longer than ``longer_than_s``."""

    def __init__(self, longer_than_s: float = 0.0) -> None:
        self.longer_than_s = longer_than_s

    def process(self, wave: np.ndarray) -> np.ndarray:
        if wave.size / SAMPLE_RATE > self.longer_than_s:
            self.fault()
        return wave * 0.5

    def fault(self) -> None:
        raise NotImplementedError


@register
class Segfaulting(FaultyRunner):
    """A native library's crash: SIGSEGV."""

    name = "test-segv"

    def fault(self) -> None:
        os.kill(os.getpid(), signal.SIGSEGV)


@register
class Aborting(FaultyRunner):
    """A failed assertion in C code: abort() (SIGABRT)."""

    name = "test-abort"

    def fault(self) -> None:
        os.abort()


@register
class Hanging(FaultyRunner):
    """An endless loop that never returns to Python's signal handling (busy, no sleep)."""

    name = "test-hang"

    def fault(self) -> None:
        while True:
            pass


#: the address space a worker may grow by before allocation fails (real pairs need a few MB)
MEMORY_LIMIT_BYTES = 512 * 2**20


@register
class MemoryHungry(FaultyRunner):
    """A memory blow-up under a worker memory limit (RLIMIT_AS): allocation fails with MemoryError."""

    name = "test-memory"

    def fault(self) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + MEMORY_LIMIT_BYTES, hard))
        try:
            hoard = []
            while True:
                hoard.append(np.empty(64 * 2**20, dtype=np.uint8))  # 64 MB of address space at a time
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
