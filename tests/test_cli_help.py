"""The command line as a new user meets it: plain --help, usage lines in capitals, --version, env, a fast list."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from gtcrn_bench import __version__
from gtcrn_bench.cli import app

cli = CliRunner()


def command_paths() -> list[list[str]]:
    """Every command and subcommand as the words that invoke it, e.g. ['fetch', 'models']."""
    root = typer.main.get_command(app)
    paths = []
    assert isinstance(root, TyperGroup)
    for name, command in root.commands.items():
        paths.append([name])
        if isinstance(command, TyperGroup):
            paths.extend([name, sub] for sub in command.commands)
    return paths


@pytest.mark.parametrize("words", command_paths(), ids=" ".join)
def test_help_has_no_python_type_noise(words: list[str]) -> None:
    """typer 0.29 writes `<bool>`, `<list[Path]>` after options and `{inputs}` in usage lines; none may show."""
    result = cli.invoke(app, [*words, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(bool|str|int|float|path|list\[[^]]*\]|Path)>", result.output), result.output
    usage = result.output.splitlines()[0]
    assert usage.startswith(f"Usage: gtcrn-bench {' '.join(words)}") and "{" not in usage, usage


@pytest.mark.parametrize(
    ("words", "usage"),
    [
        (["enhance"], "Usage: gtcrn-bench enhance [OPTIONS] INPUTS..."),
        (["run"], "Usage: gtcrn-bench run [OPTIONS] SUITE"),
        (["report"], "Usage: gtcrn-bench report [OPTIONS] RUN_DIR"),
    ],
)
def test_usage_lines_name_arguments_in_capitals(words: list[str], usage: str) -> None:
    assert cli.invoke(app, [*words, "--help"]).output.splitlines()[0] == usage


def test_fetch_is_the_first_command_listed() -> None:
    lines = cli.invoke(app, ["--help"]).output.splitlines()
    first = lines[lines.index("Commands:") + 1].split()[0]
    assert first == "fetch"


def test_flags_show_no_value_and_options_name_theirs() -> None:
    text = cli.invoke(app, ["enhance", "--help"], env={"COLUMNS": "100"}).output
    assert "--downmix / --no-downmix  Average" in text
    assert "-o, --out-dir DIR" in text and "-p, --param KEY=VALUE" in text


def test_version_and_env() -> None:
    assert cli.invoke(app, ["--version"]).output.strip() == f"gtcrn-bench {__version__}"
    text = cli.invoke(app, ["env"]).output
    for package in ("torch", "onnxruntime", "pesq", "pystoi", "speechmos"):
        assert re.search(rf"^\s+{package}\s+\S", text, flags=re.M), text


def test_env_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "env.json"
    assert cli.invoke(app, ["env", "--json", str(out)]).exit_code == 0
    facts = json.loads(out.read_text())
    assert facts["packages"]["gtcrn-bench"] == __version__ and facts["cpu"]["logical_cores"] >= 1


@pytest.mark.parametrize("args", [["list"], ["list", "--metrics"], ["env"], ["--help"], ["--version"]])
def test_listing_commands_do_not_import_torch(args: list[str]) -> None:
    """`list` named parameters in 4.4 s because it imported torch; names and parameters need none of it."""
    code = (
        "import sys\n"
        "from gtcrn_bench.cli import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        "print('HEAVY:' + ','.join(m for m in ('torch', 'onnxruntime', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:", done.stdout[-500:]


@pytest.mark.parametrize("words", command_paths(), ids=" ".join)
def test_each_command_lives_in_the_module_named_after_it(words: list[str]) -> None:
    """`gtcrn-bench fetch vctk-demand` is defined in cli/fetch_vctk_demand.py: a reader finds a command by its name."""
    command = typer.main.get_command(app)
    for word in words:
        assert isinstance(command, TyperGroup)
        command = command.commands[word]
    module = "gtcrn_bench.cli." + "_".join(words).replace("-", "_")
    if isinstance(command, TyperGroup):  # a group (fetch) is declared in its own module, its subcommands beside it
        assert getattr(import_module(module), f"{words[-1]}_app") is not None
    else:
        assert command.callback is not None and command.callback.__module__ == module


def test_fetch_lists_the_models_first() -> None:
    lines = cli.invoke(app, ["fetch", "--help"]).output.splitlines()
    listed = [line.split()[0] for line in lines[lines.index("Commands:") + 1 :] if line.strip()]
    assert listed == ["models", "vctk-demand", "dtln"]


def test_fetch_models_refuses_an_unknown_alias_before_fetching(tmp_path: Path) -> None:
    result = cli.invoke(app, ["fetch", "models", "--only", "dns3-stram", "--from", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown alias 'dns3-stram'; did you mean 'dns3-stream'?" in result.output
