"""Sessions: ``lint``, ``tests`` (what CI runs) and ``bench`` (timing, kept out of the test pass).

torch is installed first and pinned to the local CPU wheel: any spec that lets
pip choose would pull a multi-gigabyte CUDA build.
"""

from __future__ import annotations

import nox

TORCH = "torch==2.13.0"
# Distill-MOS's wheels declare torchaudio (no build for this torch): installed without dependencies.
NO_DEPS = ("distillmos==0.9.1", "xls-r-sqa==0.1.0")
nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


def install_project(session: nox.Session) -> None:
    session.install(TORCH)
    session.install("-e", ".[all,dev]")
    session.install("--no-deps", *NO_DEPS)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint rules and formatting) and import-linter (imports point down the layers, pyproject.toml)."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", env={"PYTHONPATH": "."})  # reads the source; the package need not be installed


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite against ../shared (benchmarks skipped)."""
    install_project(session)
    session.run("pytest", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark timings, saved under .benchmarks/ and compared with the previous save."""
    install_project(session)
    session.run(
        "pytest",
        "-o",
        "addopts=",  # the default addopts skip benchmarks
        "tests/benchmarks",
        "--benchmark-enable",
        "--benchmark-only",
        "--benchmark-autosave",
        "--benchmark-compare",
        "--benchmark-group-by=group",
        *session.posargs,
    )
