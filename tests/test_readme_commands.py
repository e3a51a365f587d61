"""Every ``gtcrn-bench`` command of README.md is run, and the README's facts and links hold.

The commands are extracted from the README's fenced code blocks: each line, or
each part of an ``&&`` chain, that starts with ``gtcrn-bench`` (or
``.venv/bin/gtcrn-bench``, in the set-up command). Each one must have an entry in
:data:`AS_RUN`, which says how the test runs it: the command as written, with
the changes that keep it offline and quick declared there, each with its
reason. A README command without an entry fails the test, so no command of the
README goes untested silently. The docs pages' command lines, many with
placeholders, are not run: they are checked against the CLI (every command and
option they name exists).
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from typer.testing import CliRunner, Result

from conftest import DATA_48K, MINI, ROOT, SHARED
from gtcrn_bench.cli import app
from gtcrn_bench.runners import registry

README = ROOT / "README.md"
MAX_README_LINES = 250
MAIN_JOB = "gtcrn-bench run suites/vctk.yaml"
PACKAGED_RUN = "gtcrn-bench run vctk --data ../shared/data/vctk-demand-mini --limit 2 --no-latency"


@dataclass(frozen=True)
class AsRun:
    """How the test runs one README command.

    ``args``: the command line as run, with ``{placeholders}`` filled by the test (``{shared}``, ``{mini}``:
    the shared material; ``{work}``: this module's scratch folder; ``{archives}``: the shared 48 kHz pairs laid out
    as the unpacked DataShare archives; ``{dtln_wheel}``: DTLN's wheel); ``why``: what differs from the README
    and why; ``expect``: text the output must contain; ``after``: README commands that must have run first;
    ``needs``: fixtures the command needs.
    """

    args: str
    why: str
    expect: str
    after: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


QUICK_LATENCY = "the suite's latency stage cut to 20 frames per runner (2000 in the shipped suite: minutes)"
NO_NETWORK = "no network: the same pinned files from a local copy (downloads are tested against a local server)"

#: README command -> how it is run here. The substitutions are all declared here, none made silently.
AS_RUN: dict[str, AsRun] = {
    "gtcrn-bench list": AsRun("list", "as written", "gtcrn-offline"),
    "gtcrn-bench fetch models": AsRun("fetch models --from {shared}/models/gtcrn", NO_NETWORK, "dns3-stream"),
    "gtcrn-bench fetch dtln": AsRun("fetch dtln --from {dtln_wheel}", NO_NETWORK, "model_1", needs=("dtln_wheel",)),
    "gtcrn-bench fetch vctk-demand": AsRun(
        "fetch vctk-demand --from {archives} --dest {work}/vctk-demand",
        f"{NO_NETWORK}: the 10 shared 48 kHz pairs; written to a scratch folder, not the shared test store",
        "ok 10 pairs at 16 kHz",
    ),
    MAIN_JOB: AsRun(
        "run {work}/vctk-quick.yaml --data {mini} --limit 1 -j 1 --out {work}/main-job",
        f"one mini pair; {QUICK_LATENCY}; written to a scratch folder",
        "report.md",
        needs=("dtln_wheel",),
    ),
    PACKAGED_RUN: AsRun(
        "run vctk --data {mini} --limit 2 -j 1 --no-latency --out {work}/packaged",
        "one worker; written to a scratch folder",
        "report.md",
        needs=("dtln_wheel",),
    ),
    "gtcrn-bench report results/vctk-20260101-120000": AsRun(
        "report {work}/main-job", "the results folder of the main job run above", "report.md", after=(MAIN_JOB,)
    ),
    "gtcrn-bench report results/vctk-20260101-120000 --listen 6 --pick differ": AsRun(
        "report {work}/main-job --listen 6 --pick differ",
        "the results folder of the main job run above (one utterance, so one is picked)",
        "report.md",
        after=(MAIN_JOB,),
    ),
    "gtcrn-bench env": AsRun("env", "as written", "onnxruntime"),
    "gtcrn-bench enhance -r gtcrn-stream --checkpoint vctk noisy.wav -o enhanced/": AsRun(
        "enhance -r gtcrn-stream --checkpoint vctk {mini}/noisy/p232_001.wav -o {work}/enhanced",
        "a real noisy file of the mini set; output in a scratch folder",
        "1 of 1 files enhanced",
    ),
    "gtcrn-bench complexity": AsRun("complexity", "as written", "32,998,378"),
    "gtcrn-bench complexity -r gtcrn-stream --convention exact": AsRun(
        "complexity -r gtcrn-stream --convention exact", "as written", "445,310"
    ),
    "gtcrn-bench export-onnx --checkpoint dns3-stream -o gtcrn-stream.onnx": AsRun(
        "export-onnx --checkpoint dns3-stream -o {work}/gtcrn-stream.onnx", "written to a scratch folder", "193 nodes"
    ),
    "gtcrn-bench verify --checkpoint dns3-stream --reference-onnx published-onnx": AsRun(
        "verify --checkpoint dns3-stream --reference-onnx published-onnx --latency-frames 50 --max-slowdown 100",
        "50 frames timed per graph (3000 by default) and no speed bound: this test checks the numbers, not the speed",
        "verify passed",
    ),
    "gtcrn-bench latency -r gtcrn-onnx -p checkpoint=dns3-stream --compare published-onnx": AsRun(
        "latency -r gtcrn-onnx -p checkpoint=dns3-stream --compare published-onnx --frames 50 --warmup 5",
        "50 frames per runner (2000 by default): this test checks the command, not the figures",
        "published-onnx",
    ),
}


def readme_commands() -> list[str]:
    """Each distinct ``gtcrn-bench`` command in README.md's fenced code blocks, comments dropped, in order."""
    commands: list[str] = []
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    for line in "\n".join(blocks).splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words and words[0].removeprefix(".venv/bin/") == "gtcrn-bench":
                command = shlex.join(["gtcrn-bench", *words[1:]])
                if command not in commands:
                    commands.append(command)
    return commands


def test_every_readme_command_is_run_here() -> None:
    commands = readme_commands()
    assert MAIN_JOB in commands and len(commands) >= 10  # the extraction itself works
    untested = [c for c in commands if c not in AS_RUN]
    assert not untested, f"README commands with no entry in AS_RUN (add how to run them): {untested}"
    stale = [c for c in AS_RUN if c not in commands]
    assert not stale, f"AS_RUN entries for commands no longer in the README: {stale}"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch folder: the quick suites and the archives folder the substituted commands name."""
    work = tmp_path_factory.mktemp("readme")
    quick = {"latency": {"frames": 20, "warmup": 2}}
    (work / "vctk-quick.yaml").write_text(yaml.safe_dump({"include": str(ROOT / "suites" / "vctk.yaml"), **quick}))
    archives = work / "archives"
    archives.mkdir()
    (archives / "clean_testset_wav").symlink_to(DATA_48K / "clean")
    (archives / "noisy_testset_wav").symlink_to(DATA_48K / "noisy")
    return work


@pytest.fixture(scope="module")
def run_readme_command(work: Path, request: pytest.FixtureRequest) -> Callable[[str], Result]:
    """Runs a README command as :data:`AS_RUN` says (its ``after`` commands first), once per module."""
    done: dict[str, Result] = {}

    def run(command: str) -> Result:
        if command not in done:
            case = AS_RUN[command]
            for before in case.after:
                run(before)
            places = {"shared": SHARED, "mini": MINI, "work": work, "archives": work / "archives"}
            if "dtln_wheel" in case.needs:
                places["dtln_wheel"] = request.getfixturevalue("dtln_wheel")
            args = [word.format(**places) for word in shlex.split(case.args)]
            done[command] = CliRunner().invoke(app, args)
        return done[command]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("command", list(AS_RUN))
def test_readme_command_runs(command: str, run_readme_command: Callable[[str], Result]) -> None:
    result = run_readme_command(command)
    assert result.exit_code == 0, f"{command}\n(run as: {AS_RUN[command].args})\n{result.output}"
    assert AS_RUN[command].expect in result.output, result.output


def test_ci_runs_the_readme_test_command_exactly() -> None:
    text = README.read_text()
    (command,) = re.findall(r"\*\*Run the tests\*\*.*?```bash\n(.*?)\n```", text, flags=re.S)
    assert command in (ROOT / ".ci" / "run").read_text().splitlines(), f".ci/run does not run the README's '{command}'"
    assert "docs" in command.split() and "tests" in command.split() and "lint" in command.split()


def test_the_docs_home_page_gives_the_readme_set_up_commands_verbatim() -> None:
    readme_blocks = re.findall(r"^```bash\n(.*?)\n```", README.read_text(), flags=re.S | re.M)
    set_up = [b for b in readme_blocks if b.startswith("python3 ")]
    assert len(set_up) == 2  # the main job and the tests
    home = (ROOT / "docs" / "index.md").read_text().splitlines()
    for command in set_up:
        assert command in home, f"docs/index.md does not give the README's set-up command {command!r}"


def test_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


def _slug(heading: str) -> str:
    """The anchor Python-Markdown's toc extension (mkdocs) and GitHub give a heading of plain words and code."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_readme_links_point_at_existing_pages_and_headings() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)", README.read_text())
    local = [(target, anchor) for target, anchor in links if "://" not in target]
    assert len(local) >= 10
    for target, anchor in local:
        path = ROOT / target
        assert path.exists(), f"README links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.*)$", path.read_text(), flags=re.M)
            assert anchor in {_slug(h) for h in headings}, f"README links to {target}#{anchor}: no such heading"


GTCRN_RUNNERS = ("gtcrn-offline", "gtcrn-stream", "gtcrn-onnx")


def test_the_readme_states_the_shortest_input_the_code_accepts(tmp_path: Path) -> None:
    """The GTCRN runners need 257 samples (the STFT's reflect padding of 256 needs more than 256), as the README says:
    a 300-sample file is enhanced, a 100-sample one is skipped with the message the README quotes."""
    text = " ".join(README.read_text().split())
    assert "need at least 257 samples" in text
    assert all(registry.get(name).min_samples == 257 for name in GTCRN_RUNNERS)
    quoted = re.search(r"skipped with `(input of 100 samples is shorter than the 257 needed)`", text)
    assert quoted is not None
    noise = np.random.default_rng(0).standard_normal(300).astype(np.float32) * 0.1
    for n in (100, 256, 257, 300):
        sf.write(tmp_path / f"n{n}.wav", noise[:n], 16000, subtype="FLOAT")
    files = [str(tmp_path / f"n{n}.wav") for n in (100, 256, 257, 300)]
    result = CliRunner().invoke(app, ["enhance", "-r", "gtcrn-stream", *files, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1  # some files skipped
    assert quoted[1] in " ".join(result.output.split())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["n257.wav", "n300.wav"]


def docs_commands() -> list[str]:
    """Every ``gtcrn-bench`` command line in the fenced blocks of the docs pages (continuations joined, ``$ `` off)."""
    commands = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", page.read_text(), flags=re.S | re.M)
        text = "\n".join(blocks).replace("\\\n", " ")
        for line in text.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("gtcrn-bench "):
                commands.append(line.split(" #")[0])
    return commands


def test_docs_commands_name_real_subcommands_and_options() -> None:
    """The docs pages' command lines (many with placeholders, so not run) use only commands and options that exist."""
    from typer.core import TyperCommand, TyperGroup
    from typer.main import get_command

    root = get_command(app)
    commands = docs_commands()
    assert len(commands) >= 20
    for line in commands:
        words = shlex.split(line.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
        command: TyperCommand | TyperGroup = root
        while isinstance(command, TyperGroup) and words and words[0] in command.commands:
            command, words = command.commands[words[0]], words[1:]
        assert not isinstance(command, TyperGroup), f"{line}: no such command"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        unknown = [w.split("=")[0] for w in words if w.startswith("-") and w.split("=")[0] not in known]
        assert not unknown, f"{line}: {command.name} has no option {unknown}"
