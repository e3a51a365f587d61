"""The model store: published artefacts pinned by sha256, under ``$GTCRN_BENCH_HOME``.

Two repositories are pinned: GTCRN's (commit 3862c44) and UL-UNAS's, its
successor by the same authors (commit 00f7c70). Files keep each repository's
layout below ``<home>/models/<repository>``, so ``fetch --from`` can take a
clone of either. Everywhere a model is named, an alias or a path works.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gtcrn_bench.download import copy_verified, download, verify_sha256
from gtcrn_bench.errors import CheckpointError, ChecksumError, ConfigError, did_you_mean


@dataclass(frozen=True)
class Repository:
    """A published repository whose files the store pins: where its raw files are, and a file only it has."""

    folder: str  # below <home>/models
    github: str
    commit: str
    marker: str  # a path that tells a clone of this repository from a clone of another

    @property
    def base_url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.github}/{self.commit}"


GTCRN = Repository("gtcrn", "Xiaobin-Rong/gtcrn", "3862c44", "stream/onnx_models/gtcrn_simple.onnx")
UL_UNAS = Repository("ul-unas", "Xiaobin-Rong/ul-unas", "00f7c70", "ulunas_onnx/onnx_models/ulunas_stream_simple.onnx")
REPOSITORIES = (GTCRN, UL_UNAS)
DEFAULT_BASE_URL = GTCRN.base_url


@dataclass(frozen=True)
class Artefact:
    """A pinned file of a published repository."""

    alias: str
    repo_path: str
    sha256: str
    description: str
    repository: Repository = GTCRN


ARTEFACTS: dict[str, Artefact] = {
    a.alias: a
    for a in (
        Artefact(
            "vctk",
            "checkpoints/model_trained_on_vctk.tar",
            "a0f0e04421d9fc1efe734d44191f5dc4b973ce59d6546af8d64ad9167e2a9944",
            "GTCRN checkpoint trained on VoiceBank+DEMAND",
        ),
        Artefact(
            "dns3",
            "checkpoints/model_trained_on_dns3.tar",
            "a630d992cf792daf4ce2bb5bcf9c4d389f740a8f09c6e0971184697fe6371b79",
            "GTCRN checkpoint trained on DNS3 (epoch 87)",
        ),
        Artefact(
            "dns3-stream",
            "stream/onnx_models/model_trained_on_dns3.tar",
            "250fa2820ea9947704a62dda8e642ba773a067719c5e4294ad95aeab23f06442",
            "GTCRN DNS3 checkpoint (epoch 96) behind the published ONNX and reference wavs",
        ),
        Artefact(
            "published-onnx",
            "stream/onnx_models/gtcrn_simple.onnx",
            "b4718df6228e7bdf1a8a435cf98f838636eb2fd331acabf86ba87c5192ebcb87",
            "published streaming ONNX export (simplified, opset 11)",
        ),
        Artefact(
            "published-onnx-raw",
            "stream/onnx_models/gtcrn.onnx",
            "f648b02f2d7ff96ebcb0eec2219688a08ed12fe7e3d50f248605a90eba8cad17",
            "published streaming ONNX export (before simplification)",
        ),
        Artefact(
            "test-mix",
            "test_wavs/mix.wav",
            "8d47e1d03eeb457c2549be79c8ec33a349ccd79f21c3add05f946f8f760c5a99",
            "published noisy test file (VoiceBank+DEMAND p232_023)",
        ),
        Artefact(
            "test-enh",
            "test_wavs/enh.wav",
            "fcc240b64e728243b35e018eebf3f4e2ae889f0013d588f4c27448b6f0bef4dc",
            "published offline enhancement of test-mix (dns3-stream weights)",
        ),
        Artefact(
            "ul-unas-onnx",
            "ulunas_onnx/onnx_models/ulunas_stream_simple.onnx",
            "f2e804d54d6a88f4f82f44d86c9f1cf646db2509bfca935cfbfc5fcd8cbfac3b",
            "UL-UNAS streaming ONNX export (simplified; DNS3 weights)",
            UL_UNAS,
        ),
        Artefact(
            "ul-unas-onnx-raw",
            "ulunas_onnx/onnx_models/ulunas_stream.onnx",
            "c01acec2b279802f4df99d9470624c70b0b4f0d03ecbd77fbbbc0361216e49f5",
            "UL-UNAS streaming ONNX export (before simplification)",
            UL_UNAS,
        ),
        Artefact(
            "ul-unas-dns3",
            "checkpoints/model_trained_on_dns3.tar",
            "9a0656bf8e88d36865792d3065fed9bc33d5ab85e11ae3a1ae085b928fdb49a8",
            "UL-UNAS checkpoint trained on DNS3",
            UL_UNAS,
        ),
    )
}


def home() -> Path:
    """``$GTCRN_BENCH_HOME``, else the user's cache directory for gtcrn-bench."""
    env = os.environ.get("GTCRN_BENCH_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("gtcrn-bench"))


def models_dir(repository: Repository = GTCRN) -> Path:
    """Where a repository's artefacts live, in its own layout."""
    return home() / "models" / repository.folder


def store_path(alias: str) -> Path:
    """Where an alias's file is (or would be) in the store."""
    art = ARTEFACTS[alias]
    return models_dir(art.repository) / art.repo_path


def repository_of(source: Path) -> Repository:
    """The pinned repository ``source`` is a clone (or copy) of, told by a file only that one has."""
    for repository in REPOSITORIES:
        if (source / repository.marker).is_file():
            return repository
    markers = "; ".join(f"{r.github}: {r.marker}" for r in REPOSITORIES)
    raise CheckpointError(f"{source}: not a clone of a pinned repository (none of these files is there: {markers})")


def is_available(alias: str) -> bool:
    """True when the alias's file is in the store (its hash is checked on use)."""
    return store_path(alias).is_file()


def resolve(name_or_path: str | Path) -> Path:
    """An alias (checked against its pinned sha256) or an existing path -> a file path."""
    name = str(name_or_path)
    if name in ARTEFACTS:
        path = store_path(name)
        if not path.is_file():
            raise CheckpointError(
                f"'{name}' is not in the model store ({path}); run `gtcrn-bench fetch models` "
                f"(or `gtcrn-bench fetch models --from DIR` with a clone of {ARTEFACTS[name].repository.github})"
            )
        verify_sha256(path, ARTEFACTS[name].sha256)
        return path
    path = Path(name).expanduser()
    if path.is_file():
        return path
    hint = did_you_mean(str(name), ARTEFACTS)
    raise CheckpointError(f"'{name}' is neither a file nor a known alias{hint} ({', '.join(ARTEFACTS)})")


def default_aliases(source: Path | None, base_url: str | None) -> list[str]:
    """What ``fetch`` gets when no alias is named: a clone's own repository's files, a mirror's GTCRN files,
    else every pinned file."""
    if source is not None:
        repository = repository_of(Path(source))
        return [a for a, art in ARTEFACTS.items() if art.repository == repository]
    if base_url is not None:
        return [a for a, art in ARTEFACTS.items() if art.repository == GTCRN]
    return list(ARTEFACTS)


def fetch(aliases: list[str] | None = None, *, source: Path | None = None, base_url: str | None = None) -> list[Path]:
    """Put artefacts in the store: copied from a local clone ``source`` or downloaded.

    Without ``aliases``: from a clone, the files of the repository it is a clone
    of; from a mirror (``base_url``, GTCRN's raw files), GTCRN's; else every
    pinned file from its repository on GitHub. Files already present with the
    right hash are kept; every new file is verified against its pinned sha256
    before it takes its place. An unknown alias is refused before anything
    is fetched.
    """
    for alias in aliases or []:
        if alias not in ARTEFACTS:
            raise ConfigError(
                f"unknown alias '{alias}'{did_you_mean(alias, ARTEFACTS)} (known: {', '.join(ARTEFACTS)})"
            )
    fetched = []
    for alias in aliases or default_aliases(source, base_url):
        art = ARTEFACTS[alias]
        dest = store_path(alias)
        if dest.is_file():
            try:
                verify_sha256(dest, art.sha256)
                fetched.append(dest)
                continue
            except ChecksumError:
                dest.unlink()
        if source is not None:
            copy_verified(Path(source) / art.repo_path, dest, art.sha256)
        else:
            url = f"{(base_url or art.repository.base_url).rstrip('/')}/{art.repo_path}"
            download(url, dest, art.sha256, description=alias)
        fetched.append(dest)
    return fetched
