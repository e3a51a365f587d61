"""Datasets: paired folders with a sha256 manifest, per-utterance problems, the 16 kHz resample cache,
and `fetch vctk-demand` from a local folder, a file:// mirror and a resumed HTTP download.

Every set here is built in tmp from the real VoiceBank+DEMAND files in ../shared/data (the 10 pairs
at 48 kHz and the 16 kHz mini set); nothing is written to the repository or to ../shared.
"""

from __future__ import annotations

import csv
import json
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from conftest import DATA_48K, MINI, paired_copy, range_server
from gtcrn_bench.audio import read_audio
from gtcrn_bench.cli import app
from gtcrn_bench.datasets import (
    LENGTH_TOLERANCE_S,
    PairedDirDataset,
    UtteranceError,
    get,
    kinds,
    open_dataset,
    register,
    registry,
    resampled,
)
from gtcrn_bench.datasets.vctk_fetch import fetch_vctk_demand
from gtcrn_bench.download import sha256_file
from gtcrn_bench.errors import ChecksumError, ConfigError, GtcrnBenchError, InputError

cli = CliRunner()
NAMES_48K = sorted(p.name for p in (DATA_48K / "clean").glob("*.wav"))


def unpacked_archives(folder: Path) -> Path:
    """A `--from` folder laid out like the unpacked DataShare archives, from the shared 48 kHz pairs."""
    shutil.copytree(DATA_48K / "clean", folder / "clean_testset_wav")
    shutil.copytree(DATA_48K / "noisy", folder / "noisy_testset_wav")
    return folder


def zip_mirror(folder: Path) -> Path:
    """The two archives (deflated, files under clean_testset_wav/ and noisy_testset_wav/) in a mirror folder."""
    folder.mkdir(parents=True)
    for side in ("clean", "noisy"):
        with zipfile.ZipFile(folder / f"{side}_testset_wav.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for name in NAMES_48K:
                zf.write(DATA_48K / side / name, f"{side}_testset_wav/{name}")
    return folder


def manifest_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 10-pair set as `fetch vctk-demand --from` builds it."""
    tmp = tmp_path_factory.mktemp("fetched")
    result = cli.invoke(
        app, ["fetch", "vctk-demand", "--from", str(unpacked_archives(tmp / "src")), "--dest", str(tmp / "set")]
    )
    assert result.exit_code == 0, result.output
    assert "10 pairs at 16 kHz" in result.output
    return tmp / "set"


def test_fetch_from_folder_writes_16k_pcm16_pairs_and_a_correct_manifest(fetched: Path) -> None:
    rows = manifest_rows(fetched / "manifest.csv")
    assert [r["name"] for r in rows] == NAMES_48K
    assert list(rows[0]) == ["name", "duration_s", "sha256_clean", "sha256_noisy", "source"]
    for row in rows:
        for side in ("clean", "noisy"):
            path = fetched / side / row["name"]
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert row[f"sha256_{side}"] == sha256_file(path)
        # 48 kHz -> 16 kHz keeps the duration to within one output sample
        original = sf.info(str(DATA_48K / "noisy" / row["name"]))
        assert abs(float(row["duration_s"]) - original.frames / 48000) <= 1 / 16000 + 5e-4
    meta = json.loads((fetched / "fetch.json").read_text())
    assert meta["pairs"] == 10 and meta["unmatched"] == [] and meta["source"].startswith("local folder")
    dataset = open_dataset("vctk-demand", fetched)  # its manifest is required and verified
    dataset.verify()
    assert len(dataset.utterances()) == 10 and dataset.problems() == {}


def test_fetched_audio_agrees_with_the_mini_set(fetched: Path) -> None:
    """Same utterances, different resamplers (soxr VHQ here, others for the mini set's demo repositories).

    Tolerances: correlation > 0.999 and RMS within 1 % (measured: correlation >= 0.9999, RMS within 0.02 %;
    the resamplers' anti-alias filters differ only near 8 kHz), lengths equal to within one sample.
    """
    ours = PairedDirDataset(fetched)
    mini = PairedDirDataset(MINI)
    mini_by_name = {u.name: u for u in mini.utterances()}
    common = [u for u in ours.utterances() if u.name in mini_by_name]
    assert len(common) == 9  # p232_170 is not in the mini set
    for utt in common:
        for a, b in zip(ours.load(utt), mini.load(mini_by_name[utt.name]), strict=True):
            assert a is not None and b is not None
            assert abs(a.size - b.size) <= 1
            n = min(a.size, b.size)
            assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.999, utt.name
            assert np.std(a[:n]) / np.std(b[:n]) == pytest.approx(1.0, abs=0.01), utt.name


def test_fetch_skips_finished_work_and_resumes_an_interrupted_conversion(tmp_path: Path) -> None:
    src = unpacked_archives(tmp_path / "src")
    dest = tmp_path / "set"
    fetch_vctk_demand(dest, source=src)
    kept, lost = dest / "clean" / NAMES_48K[0], dest / "noisy" / NAMES_48K[1]
    kept_mtime, lost_bytes = kept.stat().st_mtime_ns, lost.read_bytes()
    assert fetch_vctk_demand(dest, source=src).already_complete
    # as if killed during conversion: one output and the manifest (written last) missing
    lost.unlink()
    (dest / "manifest.csv").unlink()
    result = fetch_vctk_demand(dest, source=src)
    assert not result.already_complete and result.pairs == 10
    assert kept.stat().st_mtime_ns == kept_mtime  # not redone
    assert lost.read_bytes() == lost_bytes  # redone, identically (soxr is deterministic)
    assert not list(dest.rglob("*.tmp*"))


def test_fetch_downloads_the_archives_from_a_file_mirror_completing_a_partial_download(
    tmp_path: Path, fetched: Path
) -> None:
    mirror = zip_mirror(tmp_path / "mirror")
    dest = tmp_path / "set"
    archive = mirror / "clean_testset_wav.zip"
    part = dest / "archives" / "clean_testset_wav.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(archive.read_bytes()[:5000])  # an interrupted earlier download
    result = cli.invoke(app, ["fetch", "vctk-demand", "--dest", str(dest), "--base-url", mirror.as_uri()])
    assert result.exit_code == 0, result.output
    assert sha256_file(archive) in result.output  # the archive hash is shown: nothing pins it
    meta = json.loads((dest / "fetch.json").read_text())
    for name in ("clean_testset_wav.zip", "noisy_testset_wav.zip"):
        assert meta["archives"][name]["sha256"] == sha256_file(mirror / name)
    assert not (dest / "archives").exists()  # removed once the set is complete

    # the archives and the unpacked folders give byte-identical sets
    def pinned(root: Path) -> list[tuple[str, ...]]:
        return [(r["name"], r["duration_s"], r["sha256_clean"], r["sha256_noisy"]) for r in manifest_rows(root)]

    assert pinned(dest / "manifest.csv") == pinned(fetched / "manifest.csv")


def test_an_interrupted_http_download_resumes_with_a_range_request(tmp_path: Path) -> None:
    folder = zip_mirror(tmp_path / "http-mirror")
    dest = tmp_path / "set"
    part = dest / "archives" / "noisy_testset_wav.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes((folder / "noisy_testset_wav.zip").read_bytes()[:7000])
    with range_server(folder) as (url, ranges):
        result = fetch_vctk_demand(dest, base_url=url, keep_archives=True)
    assert ranges == ["bytes=7000-"]
    assert result.pairs == 10
    for name in ("clean_testset_wav.zip", "noisy_testset_wav.zip"):
        assert sha256_file(dest / "archives" / name) == sha256_file(folder / name)


def test_a_download_that_is_not_a_zip_is_removed_and_reported(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "clean_testset_wav.zip").write_text("<html>Please accept the licence</html>")
    with pytest.raises(GtcrnBenchError, match=r"clean_testset_wav\.zip.*not a zip archive"):
        fetch_vctk_demand(tmp_path / "set", base_url=mirror.as_uri())
    assert not (tmp_path / "set" / "archives" / "clean_testset_wav.zip").exists()


def test_fetch_from_a_wrongly_laid_out_folder_says_what_it_expects(tmp_path: Path) -> None:
    shutil.copytree(DATA_48K, tmp_path / "src")  # clean/ and noisy/, not the archives' folder names
    result = cli.invoke(app, ["fetch", "vctk-demand", "--from", str(tmp_path / "src"), "--dest", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "clean_testset_wav" in result.output and "Traceback" not in result.output


def copy_set(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    for path in dest.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # ../shared is read-only
    return dest


def test_manifest_check_names_corrupted_and_missing_files(tmp_path: Path) -> None:
    root = copy_set(MINI, tmp_path / "mini")
    names = sorted(p.name for p in (root / "noisy").glob("*.wav"))
    corrupted = root / "noisy" / names[3]
    data = bytearray(corrupted.read_bytes())
    data[2000] ^= 0x01  # one sample's low bit: still valid audio, different bytes
    corrupted.write_bytes(bytes(data))
    (root / "clean" / names[7]).unlink()
    dataset = PairedDirDataset(root)  # manifest.csv found and used
    with pytest.raises(ChecksumError) as err:
        dataset.verify()
    message = str(err.value)
    assert f"noisy/{names[3]}: sha256 differs" in message
    assert f"clean/{names[7]}: missing" in message
    assert "2 file(s)" in message and str(root / "manifest.csv") in message
    # the first three pairs are intact: a limited run verifies only what it uses
    PairedDirDataset(root, limit=3).verify()


def test_manifest_options_and_malformed_manifests(tmp_path: Path) -> None:
    root = copy_set(DATA_48K, tmp_path / "set")  # no manifest.csv
    assert PairedDirDataset(root).manifest is None
    with pytest.raises(InputError, match=re.escape("manifest.csv: manifest not found")):
        PairedDirDataset(root, manifest=True)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,sha256\np232_050.wav,abc\n")
    with pytest.raises(InputError, match=r"bad\.csv: not a dataset manifest: missing column.*sha256_clean"):
        PairedDirDataset(root, manifest=bad)
    assert len(PairedDirDataset(MINI, manifest=False).utterances()) == 83


def mismatched_set(root: Path) -> dict[str, str]:
    """A paired folder with one case of every pair problem, from real files; name -> what was done."""
    names = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))
    for side in ("clean", "noisy"):
        (root / side).mkdir(parents=True)
    cases = {"ok.wav": names[0], "short_ok.wav": names[1], "short_bad.wav": names[2], "nan.wav": names[3]}
    for new, old in cases.items():
        for side in ("clean", "noisy"):
            shutil.copyfile(MINI / side / old, root / side / new)
    tolerance = int(LENGTH_TOLERANCE_S * 16000)
    for new, cut in (("short_ok.wav", tolerance // 2), ("short_bad.wav", 2 * tolerance)):
        wave, sr = sf.read(str(root / "noisy" / new), dtype="int16")
        sf.write(str(root / "noisy" / new), wave[:-cut], sr, subtype="PCM_16")
    wave, _ = sf.read(str(MINI / "clean" / names[3]), dtype="float32")
    wave[100] = np.nan
    sf.write(str(root / "clean" / "nan.wav"), wave, 16000, subtype="FLOAT")
    shutil.copyfile(MINI / "noisy" / names[4], root / "noisy" / "no_clean.wav")
    shutil.copyfile(MINI / "clean" / names[5], root / "clean" / "no_noisy.wav")
    shutil.copyfile(MINI / "clean" / NAMES_48K[0], root / "clean" / "rates.wav")  # 16 kHz
    shutil.copyfile(DATA_48K / "noisy" / NAMES_48K[0], root / "noisy" / "rates.wav")  # 48 kHz
    shutil.copyfile(MINI / "clean" / names[6], root / "clean" / "unreadable.wav")
    (root / "noisy" / "unreadable.wav").write_bytes(b"RIFF\x00\x00not a wav file at all")
    return cases


def test_pair_problems_are_reported_per_utterance_and_the_rest_load(tmp_path: Path) -> None:
    root = tmp_path / "pairs"
    mismatched_set(root)
    dataset = PairedDirDataset(root)
    problems = dataset.problems()
    assert sorted(problems) == ["no_clean.wav", "no_noisy.wav", "rates.wav", "short_bad.wav", "unreadable.wav"]
    assert problems["no_clean.wav"] == "no clean/no_clean.wav (only noisy/no_clean.wav exists)"
    assert problems["no_noisy.wav"] == "no noisy/no_noisy.wav (only clean/no_noisy.wav exists)"
    assert problems["rates.wav"] == "sample rates differ: clean 16000 Hz, noisy 48000 Hz"
    assert problems["short_bad.wav"].startswith("lengths differ by 20.0 ms")
    assert "tolerance 10 ms" in problems["short_bad.wav"]
    assert str(root / "noisy" / "unreadable.wav") in problems["unreadable.wav"]
    by_name = {u.name: u for u in dataset.utterances()}
    for name in problems:
        with pytest.raises(UtteranceError, match=f"^{name}: "):
            dataset.load(by_name[name])
    with pytest.raises(InputError, match=re.escape(f"{root / 'clean' / 'nan.wav'}: the audio contains NaN")):
        dataset.load(by_name["nan.wav"])
    clean, noisy = dataset.load(by_name["short_ok.wav"])  # 5 ms shorter: within tolerance, cut to match
    assert clean is not None and clean.size == noisy.size
    clean, noisy = dataset.load(by_name["ok.wav"])
    assert clean is not None and np.array_equal(noisy, read_audio(root / "noisy" / "ok.wav")[0])


def test_a_folder_without_clean_is_a_reference_free_set(tmp_path: Path) -> None:
    (tmp_path / "blind").mkdir()
    shutil.copytree(MINI / "noisy", tmp_path / "blind" / "noisy")
    dataset = PairedDirDataset(tmp_path / "blind", limit=2)
    clean, noisy = dataset.load(dataset.utterances()[0])
    assert clean is None and noisy.size > 0 and dataset.problems() == {}
    assert not dataset.has_references() and PairedDirDataset(MINI, limit=1).has_references()
    hashes = dataset.describe()["files_sha256"]
    assert all(h["clean"] is None and len(h["noisy"]) == 64 for h in hashes.values())


def test_without_a_manifest_metadata_pins_every_listed_file_by_sha256(tmp_path: Path) -> None:
    root = copy_set(MINI, tmp_path / "mini")
    (root / "manifest.csv").unlink()
    described = PairedDirDataset(root, limit=3).describe()
    names = sorted(p.name for p in (MINI / "noisy").glob("*.wav"))[:3]
    assert described["manifest_sha256"] is None and list(described["files_sha256"]) == names
    pinned = {row["name"]: row for row in manifest_rows(MINI / "manifest.csv")}  # hashed by whoever made the set
    for name in names:
        expected = {"clean": pinned[name]["sha256_clean"], "noisy": pinned[name]["sha256_noisy"]}
        assert described["files_sha256"][name] == expected
    assert re.fullmatch(r"[0-9a-f]{64}", described["pairs_sha256"])
    data = bytearray((root / "clean" / names[1]).read_bytes())
    data[2000] ^= 0x01
    (root / "clean" / names[1]).write_bytes(bytes(data))
    changed = PairedDirDataset(root, limit=3).describe()
    assert changed["pairs_sha256"] != described["pairs_sha256"]
    assert changed["files_sha256"][names[0]] == described["files_sha256"][names[0]]
    with_manifest = PairedDirDataset(MINI, limit=3).describe()  # the manifest's sha256 pins the files instead
    assert len(with_manifest["manifest_sha256"]) == 64 and "files_sha256" not in with_manifest


class CountingRead:
    """Wraps read_audio to count the decodes (and resamplings) the cache did not avoid."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> tuple[np.ndarray, object]:
        self.calls += 1
        return read_audio(*args, **kwargs)  # type: ignore[arg-type]


def test_48k_pairs_are_resampled_once_and_read_from_the_cache_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(tmp_path / "home"))
    counter = CountingRead()
    monkeypatch.setattr(resampled, "read_audio", counter)
    first = PairedDirDataset(DATA_48K)
    loaded = {u.name: first.load(u) for u in first.utterances()}
    assert counter.calls == 20
    cache_root = tmp_path / "home" / "data" / "resampled-16k"
    assert len(list(cache_root.rglob("*.npy"))) == 20 and not list(cache_root.rglob("*.tmp*"))
    assert first.describe()["resample_cache"] == str(cache_root)
    # a second run (a fresh instance, as in a worker process) and a copy of the set elsewhere hit the cache
    again = pickle.loads(pickle.dumps(first))
    copied = PairedDirDataset(copy_set(DATA_48K, tmp_path / "copy"))
    for dataset in (again, copied):
        for utt in dataset.utterances():
            clean, noisy = dataset.load(utt)
            assert clean is not None and np.array_equal(clean, loaded[utt.name][0])
            assert np.array_equal(noisy, loaded[utt.name][1])
    assert counter.calls == 20
    # the cached audio is the soxr VHQ resampling of the 48 kHz file
    expected = read_audio(DATA_48K / "noisy" / NAMES_48K[0], quiet=True)[0]
    assert np.array_equal(loaded[NAMES_48K[0]][1], expected) and expected.size == round(83202 / 3)
    # a changed file misses the cache (the key is its content)
    changed = tmp_path / "copy" / "noisy" / NAMES_48K[0]
    wave, sr = sf.read(str(changed), dtype="int16")
    sf.write(str(changed), wave // 2, sr, subtype="PCM_16")
    utt = next(u for u in copied.utterances() if u.name == NAMES_48K[0])
    assert copied.load(utt)[1] == pytest.approx(expected / 2, abs=1e-3)
    assert counter.calls == 21  # only the changed file was decoded and resampled again


def test_registry_plugs_in_kinds_and_names_the_known_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"paired-dir", "vctk-demand"} <= set(kinds())
    assert get("paired-dir") is PairedDirDataset
    with pytest.raises(ConfigError, match=r"unknown dataset kind 'nope' \(available: .*paired-dir"):
        open_dataset("nope", tmp_path)
    monkeypatch.setattr(registry, "KINDS", registry.KINDS.fresh_copy())  # undone after the test

    @register("first-pairs")
    def first_pairs(root: Path, **options: object) -> PairedDirDataset:
        return PairedDirDataset(root, limit=2)

    assert [u.name for u in open_dataset("first-pairs", MINI).utterances()] == ["p232_001.wav", "p232_002.wav"]
    monkeypatch.setenv("GTCRN_BENCH_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(InputError, match="run `gtcrn-bench fetch vctk-demand`"):
        open_dataset("vctk-demand", None)


def test_a_text_folder_gives_transcripts_and_the_run_says_what_wer_compares_with(tmp_path: Path) -> None:
    from gtcrn_bench.suite.engine import asr_reference

    root = paired_copy(tmp_path / "set", ["p232_001.wav", "p232_002.wav"])
    assert not PairedDirDataset(root).has_transcripts()
    assert "has no transcripts" in str(asr_reference(PairedDirDataset(root), ["pesq_wb", "wer"]))
    (root / "text").mkdir()
    (root / "text" / "p232_001.txt").write_text("Please call Stella.\n")
    dataset = PairedDirDataset(root)
    first, second = dataset.utterances()
    assert dataset.has_transcripts() and dataset.describe()["transcripts"] == 1
    assert dataset.transcript(first) == "Please call Stella." and dataset.transcript(second) is None
    assert asr_reference(dataset, ["wer"]).startswith("the dataset's transcripts")
    assert asr_reference(dataset, ["pesq_wb"]) is None
    (root / "text" / "p232_002.txt").write_bytes(b"\xff\xfe not utf-8 \xff")
    with pytest.raises(InputError, match=r"p232_002\.txt: cannot read the transcript"):
        dataset.transcript(second)


def test_fetch_writes_transcripts_from_a_folder_or_a_mirror_and_says_why_when_there_are_none(
    tmp_path: Path, fetched: Path
) -> None:
    from gtcrn_bench.datasets.vctk_text import fetch_transcripts

    texts = {"p232_050": "A first test line.", "p232_116": "A second test line!"}  # plumbing, not the corpus text
    src = tmp_path / "src" / "testset_txt"
    src.mkdir(parents=True)
    for stem, text in texts.items():
        (src / f"{stem}.txt").write_text(text + "\n")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with zipfile.ZipFile(mirror / "testset_txt.zip", "w") as zf:
        for stem, text in texts.items():
            zf.writestr(f"testset_txt/{stem}.txt", text)

    from_folder = fetch_transcripts(tmp_path / "a", source=src.parent, base_url="unused")
    assert from_folder.count == 2 and from_folder.missing is None
    assert (tmp_path / "a" / "text" / "p232_116.txt").read_text().strip() == texts["p232_116"]
    from_zip = fetch_transcripts(tmp_path / "b", source=None, base_url=mirror.as_uri())
    assert from_zip.count == 2 and from_zip.sha256 == sha256_file(mirror / "testset_txt.zip")
    absent = fetch_transcripts(tmp_path / "c", source=None, base_url=(tmp_path / "nowhere").as_uri())
    assert absent.count == 0 and "testset_txt.zip" in str(absent.missing) and not (tmp_path / "c" / "text").exists()
    no_folder = fetch_transcripts(tmp_path / "d", source=tmp_path, base_url="unused")
    assert "testset_txt does not exist" in str(no_folder.missing)

    # a set fetched before transcripts existed gets them on the next `fetch vctk-demand --from`
    dest = copy_set(fetched, tmp_path / "set")
    result = cli.invoke(app, ["fetch", "vctk-demand", "--from", str(src.parent), "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert "2 transcripts" in result.output and "already fetched: 10 pairs" in result.output
    dataset = open_dataset("vctk-demand", dest)
    assert dataset.transcript(dataset.utterances()[0]) == texts["p232_050"]
