"""Sessions: ``lint``, ``docs``, ``tests`` (what CI runs) and ``bench`` (timing, kept out of the test pass).

torch is installed first and pinned to the local CPU wheel: any spec that lets
pip choose would pull a multi-gigabyte CUDA build.
"""

from __future__ import annotations

from pathlib import Path

import nox

TORCH = "torch==2.13.0"
# Distill-MOS's wheels declare torchaudio (no build for this torch): installed without dependencies.
NO_DEPS = ("distillmos==0.9.1", "xls-r-sqa==0.1.0")
nox.options.sessions = ["lint", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True


def install_project(session: nox.Session) -> None:
    session.install(TORCH)
    # the conversion extras (nncf, litert-torch) accept other torch versions: the constraint keeps this one
    session.install("-c", "constraints-torch.txt", "-e", ".[all,dev]")
    session.install("--no-deps", *NO_DEPS)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint rules and formatting) and import-linter (imports point down the layers, pyproject.toml)."""
    session.install("ruff", "import-linter")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", env={"PYTHONPATH": "."})  # reads the source; the package need not be installed


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built with ``mkdocs build --strict``: a broken link, anchor or snippet fails.

    Only the ``docs`` extra is installed (read from pyproject.toml): the site needs no import of the package,
    and installing the package here would let pip choose a torch build.
    """
    extras = nox.project.load_toml("pyproject.toml")["project"]["optional-dependencies"]
    session.install(*extras["docs"])
    site = Path(session.create_tmp()) / "site"  # built outside the clone: nothing to clean or commit
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), env={"NO_MKDOCS_2_WARNING": "1"})


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
