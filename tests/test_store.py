"""The model store: pinned sha256, copy from a local clone, download from a (file://) mirror."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import GTCRN_REPO, range_server
from gtcrn_bench import store
from gtcrn_bench.cli import app
from gtcrn_bench.download import download, sha256_file
from gtcrn_bench.errors import CheckpointError, ChecksumError

cli = CliRunner()


@pytest.fixture()
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(home))
    return home


def corrupted_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the repository layout with one checkpoint's bytes changed."""
    clone = tmp_path / "clone"
    shutil.copytree(GTCRN_REPO, clone)
    bad = clone / "checkpoints" / "model_trained_on_vctk.tar"
    bad.chmod(0o644)
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    return clone, bad


def test_fetch_from_local_clone_verifies_every_file(empty_home: Path) -> None:
    result = cli.invoke(app, ["fetch", "models", "--from", str(GTCRN_REPO)])
    assert result.exit_code == 0, result.output
    gtcrn = {alias: art for alias, art in store.ARTEFACTS.items() if art.repository == store.GTCRN}
    assert len(gtcrn) == 7
    for alias, art in gtcrn.items():  # a GTCRN clone gives GTCRN's files (UL-UNAS's come from its own clone)
        assert sha256_file(store.store_path(alias)) == art.sha256


def test_fetch_refuses_corrupted_file_naming_it_and_the_hash(empty_home: Path, tmp_path: Path) -> None:
    clone, bad = corrupted_clone(tmp_path)
    result = cli.invoke(app, ["fetch", "models", "--from", str(clone), "--only", "vctk"])
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert store.ARTEFACTS["vctk"].sha256 in result.output
    assert "Traceback" not in result.output
    assert not store.store_path("vctk").exists()  # nothing unverified lands in the store


def test_download_from_mirror_and_resume(empty_home: Path, tmp_path: Path) -> None:
    store.fetch(["dns3"], base_url=GTCRN_REPO.as_uri())  # a file:// mirror
    assert sha256_file(store.store_path("dns3")) == store.ARTEFACTS["dns3"].sha256
    # an interrupted download leaves a .part file; the next call completes it with a Range request
    src = GTCRN_REPO / "checkpoints" / "model_trained_on_vctk.tar"
    dest = tmp_path / "resumed.tar"
    dest.with_name("resumed.tar.part").write_bytes(src.read_bytes()[:1000])
    with range_server(GTCRN_REPO) as (url, ranges):
        download(f"{url}/checkpoints/model_trained_on_vctk.tar", dest, store.ARTEFACTS["vctk"].sha256)
    assert ranges == ["bytes=1000-"]
    assert dest.read_bytes() == src.read_bytes()


def test_download_with_wrong_hash_leaves_nothing(tmp_path: Path) -> None:
    src = GTCRN_REPO / "checkpoints" / "model_trained_on_vctk.tar"
    with pytest.raises(ChecksumError, match=r"expected 0{64},"):
        download(src.as_uri(), tmp_path / "x.tar", "0" * 64)
    assert not list(tmp_path.iterdir())


def test_resolve_errors_say_what_to_do(empty_home: Path) -> None:
    with pytest.raises(CheckpointError, match="gtcrn-bench fetch models"):
        store.resolve("vctk")
    with pytest.raises(CheckpointError, match="neither a file nor a known alias"):
        store.resolve("no-such-model")


def test_a_path_works_wherever_an_alias_does() -> None:
    path = GTCRN_REPO / "checkpoints" / "model_trained_on_dns3.tar"
    assert store.resolve(str(path)) == path
